"""The scheduler's web part: balancing and recommendations."""
