"""Citizens' phones: numbers normalised, and verified by a one-time code sent by SMS."""
