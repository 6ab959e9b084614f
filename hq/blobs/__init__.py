"""Photo blobs: the blob store contract with its local-directory implementation (``store``), the
S3-compatible one (``s3``), resumable partial uploads in either (``partials``) and the evidence check a
photo passes before it is stored (``photocheck``).
"""
