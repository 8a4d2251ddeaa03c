"""Certificates and credentials that leave the tool: the printed certificate with its public
verification page and QR code, and (see `openbadges`) Open Badges 3.0 credentials."""
