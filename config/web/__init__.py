"""The web toolkit every package's web part uses: endpoint declarations, errors, worker threads,
pages, QR codes; and the shared templates and static files."""
