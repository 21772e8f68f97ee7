"""Traceability on GS1 EPCIS 2.0: capture, query, trace and recall; QR codes with GS1 Digital Link."""

from consortia.apps.trace.contract import Traceability

__all__ = ["Traceability"]
