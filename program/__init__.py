"""The Pulumi program: read the stack's config and secrets once, open the tunnel, build the
components (main.py), and the SSH tunnel itself (tunnel.py)."""
