"""The leader's requests about subject identity (issue #22), online only: HQ's merge suggestions and open
field conflicts of the leader's district, a merge, a conflict resolved. HQ decides scope from the token
(``hq.api.subject_routes``); each answer is parsed into its ``sync.protocol`` model."""

from __future__ import annotations

from mobile.hqclient.transport import Transport, parse
from sync.protocol import (
    MergeRequest,
    MergeResult,
    MergeSuggestionList,
    ResolveConflictRequest,
    SubjectConflictList,
    SubjectConflictOut,
)

#: Suggestions and conflicts a phone asks for at most (HQ caps them too).
PHONE_LIMIT = 50


class IdentityClient:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def suggestions(self) -> MergeSuggestionList:
        response = self.transport.request("GET", "/v1/merge-suggestions", params={"limit": str(PHONE_LIMIT)})
        return parse(MergeSuggestionList, response)

    def conflicts(self) -> SubjectConflictList:
        response = self.transport.request("GET", "/v1/subject-conflicts", params={"limit": str(PHONE_LIMIT)})
        return parse(SubjectConflictList, response)

    def merge(self, alias_id: str, into: str) -> MergeResult:
        body = MergeRequest(into=into).model_dump(mode="json")
        response = self.transport.request("POST", f"/v1/subjects/{alias_id}/merge", json=body)
        return parse(MergeResult, response)

    def resolve(self, conflict_id: str, take: str) -> SubjectConflictOut:
        body = ResolveConflictRequest.model_validate({"take": take}).model_dump(mode="json")
        response = self.transport.request("POST", f"/v1/subject-conflicts/{conflict_id}/resolve", json=body)
        return parse(SubjectConflictOut, response)
