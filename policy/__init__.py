"""The CrossGuard policy pack (a package only so the repository's tools can import `policies`)."""
