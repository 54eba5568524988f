"""The built-in `corpus`: character-level text for next-token prediction.

English-like sentences from a small grammar ("the old fox chases a small bird today.")
are written one after another into one long text, cut into windows of T + 1 characters:
x is a window's first T characters, y the same window one step later (the next character
at every step). The structure is there to learn at every level: letters spell a few dozen
words, words follow the grammar (a determiner, maybe an adjective, a noun, a verb...) and
a sentence ends with a full stop. Character frequencies alone (the unigram baseline) give a
perplexity near 19; a model that learned the words gets far lower.
Pure function of (samples, rng): the same seed gives the same text, byte for byte.
"""
from __future__ import annotations

import numpy as np
import torch

from runtime.data.builtin import RawData

DETERMINERS = ("the", "a", "every", "one", "my", "your")
ADJECTIVES = ("small", "big", "red", "old", "happy", "quiet", "clever", "lazy")
NOUNS = ("cat", "dog", "bird", "fox", "child", "farmer", "teacher", "horse", "robot")
TRANSITIVE = ("sees", "likes", "chases", "finds", "helps", "follows", "watches")
INTRANSITIVE = ("sleeps", "runs", "sings", "waits", "laughs", "jumps")
ADVERBS = ("today", "again", "slowly", "often", "quietly", "at night")
CONJUNCTIONS = ("and", "but", "while")

SPACE = "␣"   # how a space reads among the class names (a bare " " is invisible)
_TEXT_CHARS = sorted({ch for words in (DETERMINERS, ADJECTIVES, NOUNS, TRANSITIVE,
                                       INTRANSITIVE, ADVERBS, CONJUNCTIONS)
                      for word in words for ch in word} | {" ", "."})
VOCAB = [SPACE if ch == " " else ch for ch in _TEXT_CHARS]   # class id → character
_ID = {ch: i for i, ch in enumerate(_TEXT_CHARS)}
DEFAULT_LENGTH = 32


def _pick(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    return words[int(rng.integers(len(words)))]


def _noun_phrase(rng: np.random.Generator) -> str:
    adjective = f"{_pick(rng, ADJECTIVES)} " if rng.random() < 0.5 else ""
    return f"{_pick(rng, DETERMINERS)} {adjective}{_pick(rng, NOUNS)}"


def _clause(rng: np.random.Generator) -> str:
    if rng.random() < 0.6:
        verb = f"{_pick(rng, TRANSITIVE)} {_noun_phrase(rng)}"
    else:
        verb = _pick(rng, INTRANSITIVE)
    adverb = f" {_pick(rng, ADVERBS)}" if rng.random() < 0.3 else ""
    return f"{_noun_phrase(rng)} {verb}{adverb}"


def sentence(rng: np.random.Generator) -> str:
    """One sentence with its full stop: a clause, sometimes joined to a second one."""
    text = _clause(rng)
    if rng.random() < 0.25:
        text += f" {_pick(rng, CONJUNCTIONS)} {_clause(rng)}"
    return text + "."


def text(characters: int, rng: np.random.Generator) -> str:
    """At least `characters` characters of sentences, separated by single spaces."""
    parts: list[str] = []
    size = 0
    while size < characters:
        parts.append(sentence(rng))
        size += len(parts[-1]) + 1
    return " ".join(parts)


def encode(chars: str) -> np.ndarray:
    """Character ids (int64) of a text written with the corpus' characters."""
    return np.fromiter((_ID[ch] for ch in chars), dtype=np.int64, count=len(chars))


def decode(ids) -> str:
    return "".join(_TEXT_CHARS[int(i)] for i in ids)


def corpus(n: int, rng: np.random.Generator, length: int = DEFAULT_LENGTH) -> RawData:
    """n windows of `length` characters (x) and the same windows one step later (y)."""
    ids = encode(text(n * (length + 1), rng))[: n * (length + 1)].reshape(n, length + 1)
    x, y = np.ascontiguousarray(ids[:, :-1]), np.ascontiguousarray(ids[:, 1:])
    return RawData(torch.from_numpy(x), torch.from_numpy(y), "classification", list(VOCAB),
                   f"character-level text: {n} windows of {length} characters (int64 ids over "
                   f"{len(VOCAB)} symbols) from English-like sentences of a small grammar; "
                   "target: the next character at every step (next-token prediction)")
