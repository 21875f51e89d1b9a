"""The organisation's web part: the catalogue, sign-in, staff and devices, managers' checks."""
