"""Plain state classes of the officer app: data and domain calls, no Flet.

Views render these objects and call their methods; each class takes its collaborators (store, photo
store, catalogue, sync link, clock) in its constructor, so every screen's logic is tested without a UI.
"""
