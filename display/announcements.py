"""Spoken calls: a chime, then "الرقم A-042، الشباك 3" in Arabic, then in English.

Audio is made on the server with espeak-ng and cached on disk, so a hall screen needs neither the
internet nor a browser voice. Without espeak-ng, the chime alone is played (and a warning logged).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import math
import os
import re
import shutil
import struct
import subprocess
import tempfile
import wave
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)
RATE = 22050  # espeak-ng's native rate: the pieces join without resampling
NUMBER = re.compile(r"^([A-Z])-(\d{1,4})$")
# How an Arabic voice names the Latin prefix letters of ticket numbers.
LETTERS_AR = {
    "A": "إيه",
    "B": "بي",
    "C": "سي",
    "D": "دي",
    "E": "إي",
    "F": "إف",
    "G": "جي",
    "H": "إتش",
    "I": "آي",
    "J": "جيه",
    "K": "كيه",
    "L": "إل",
    "M": "إم",
    "N": "إن",
    "O": "أو",
    "P": "بي",
    "Q": "كيو",
    "R": "آر",
    "S": "إس",
    "T": "تي",
    "U": "يو",
    "V": "في",
    "W": "دبليو",
    "X": "إكس",
    "Y": "واي",
    "Z": "زد",
}


def phrases(number: str, counter: int) -> tuple[str, str]:
    """The Arabic and English sentences for a call (the ticket's digits read as a number)."""
    match = NUMBER.match(number)
    if match is None:
        raise ValueError(f"not a ticket number: {number!r}")
    letter, digits = match.group(1), int(match.group(2))
    arabic = f"الرقم {LETTERS_AR[letter]} {digits}، الشباك {counter}"
    english = f"Number {letter} {digits}, counter {counter}"
    return arabic, english


def chime() -> bytes:
    """Two soft tones (frames only, 16-bit mono at RATE)."""
    frames = bytearray()
    for frequency, seconds in ((880.0, 0.35), (660.0, 0.5)):
        count = int(RATE * seconds)
        for i in range(count):
            envelope = math.sin(math.pi * i / count)  # no clicks at the edges
            sample = 0.35 * envelope * math.sin(2 * math.pi * frequency * i / RATE)
            frames += struct.pack("<h", int(sample * 32767))
    return bytes(frames)


def silence(seconds: float) -> bytes:
    return b"\x00\x00" * int(RATE * seconds)


def speak(text: str, *, voice: str) -> bytes:
    """Frames of `text` spoken by espeak-ng; empty when espeak-ng is missing or fails. The text comes
    after `--`: a supervisor's message starting with "-" is words, never an option."""
    executable = shutil.which("espeak-ng")
    if executable is None:
        log.warning("espeak-ng is not installed: announcements are a chime only")
        return b""
    result = subprocess.run(  # noqa: S603 (fixed executable, text passed as one argument)
        [executable, "-v", voice, "-s", "135", "--stdout", "--", text],
        capture_output=True,
        timeout=20,
        check=False,
    )
    if result.returncode != 0:
        log.warning("espeak-ng failed for %r: %s", text, result.stderr.decode(errors="replace"))
        return b""
    with wave.open(io.BytesIO(result.stdout)) as spoken:
        if (spoken.getframerate(), spoken.getsampwidth(), spoken.getnchannels()) != (RATE, 2, 1):
            log.warning("espeak-ng produced an unexpected format; skipping speech")
            return b""
        return bytes(spoken.readframes(spoken.getnframes()))


def render(number: str, counter: int) -> bytes:
    """The whole announcement as a WAV file."""
    return _spoken(*phrases(number, counter))


def render_message(arabic: str, english: str) -> bytes:
    """A supervisor's message for the hall (display/hall_messages.py) as a WAV file, like a call."""
    return _spoken(arabic, english)


def _spoken(arabic: str, english: str) -> bytes:
    frames = chime() + silence(0.25) + speak(arabic, voice="ar") + silence(0.4) + speak(english, voice="en")
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(RATE)
        file.writeframes(frames + silence(0.3))
    return out.getvalue()


def cached(number: str, counter: int, *, directory: Path, keep: int) -> bytes:
    """The announcement, from the disk cache when it was made before; the cache keeps the newest
    `keep` files."""
    return _cached(f"v1|{number}|{counter}", lambda: render(number, counter), directory=directory, keep=keep)


def cached_message(arabic: str, english: str, *, directory: Path, keep: int) -> bytes:
    """A hall message spoken, from the same disk cache as the calls."""
    return _cached(
        f"message|{arabic}|{english}", lambda: render_message(arabic, english), directory=directory, keep=keep
    )


def _cached(name: str, make: Callable[[], bytes], *, directory: Path, keep: int) -> bytes:
    key = hashlib.sha256(name.encode()).hexdigest()[:32]
    path = directory / f"{key}.wav"
    try:
        return path.read_bytes()
    except FileNotFoundError:  # never made, or pruned since
        pass
    audio = make()
    directory.mkdir(parents=True, exist_ok=True)
    # A temporary file of its own, then an atomic rename: two threads or processes may make the same
    # announcement at once, and a reader must never see half a file.
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(audio)
        os.replace(temporary, path)
    except OSError as exc:  # a full disk: the call is still announced, only not kept
        Path(temporary).unlink(missing_ok=True)
        log.warning("announcement not cached: %s", exc)
        return audio
    prune(directory, keep=keep, newest=path.name)
    return audio


def prune(directory: Path, *, keep: int, newest: str) -> None:
    """Removes the oldest announcements (by modification time) so that `keep` remain, `newest` among
    them (files made within one tick of the file system's clock share a time)."""
    others = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.endswith(".wav") and entry.name != newest:
                with contextlib.suppress(FileNotFoundError):  # another process pruned it first
                    others.append((entry.stat().st_mtime_ns, entry.path))
    others.sort(reverse=True)
    for _, old in others[max(0, keep - 1) :]:
        Path(old).unlink(missing_ok=True)
