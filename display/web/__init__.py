"""The display's web part: the hall display and tracker pages, and their websockets."""
