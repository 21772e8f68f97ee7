"""The app's certificates, as the node's API serves them.

They are built and verified by the SDK (``consortia.client.certificates``) so that an offline
verifier needs nothing of a node; the API reaches them through the app, as it reaches every app.
"""

from consortia.client.certificates import CertificateInvalid, Verification, build_certificate, verify_certificate

__all__ = ["CertificateInvalid", "Verification", "build_certificate", "verify_certificate"]
