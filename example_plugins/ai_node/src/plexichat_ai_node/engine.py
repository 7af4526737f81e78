"""The text engine of the AI node: pure functions and one provider class, no I/O.

Everything here is deterministic: the same text gives the same answer on every machine,
with no network, no model file and no randomness.

- :func:`summarize` is extractive: sentences are scored by how many of the text's
  frequent content words they hold (normalised so long sentences do not win by length
  alone, with a small bonus for the opening sentence) and the best are returned in
  their original order.
- :func:`keywords` ranks the words and the recurring phrases of the text (runs of
  content words between stop words and punctuation) by how often they occur, folding
  plurals into their singular.
- :class:`NodeAI` is the ``ai`` service: ``generate_content`` recognises a few intents
  (greeting, help, thanks, summarize, keywords, question) and answers each, always
  labelled ``[plexichat-ai-node]`` so nobody mistakes it for a language model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "INTENTS",
    "LABEL",
    "NodeAI",
    "Reply",
    "content_words",
    "keywords",
    "sentences",
    "summarize",
]

LABEL = "plexichat-ai-node"
"""Shown at the start of every answer."""

INTENTS = ("empty", "greeting", "help", "thanks", "summarize", "keywords", "question",
           "statement")
"""What :meth:`NodeAI.respond` can recognise, in the order it checks."""

STOP_WORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because
been before being below between both but by can can't cannot could couldn't did didn't
do does doesn't doing don't down during each either else ever every few for from further
get gets got had hadn't has hasn't have haven't having he he'd he'll he's her here here's
hers herself him himself his how how's however i i'd i'll i'm i've if in into is isn't it
it's its itself just let's like made make makes many may me might more most much must
mustn't my myself neither no nor not now of off often on once one only or other ought our
ours ourselves out over own per quite rather really said same say says shall shan't she
she'd she'll she's should shouldn't since so some such than that that's the their theirs
them themselves then there there's these they they'd they'll they're they've this those
though through thus to too under until up upon us use used uses using very via was wasn't
we we'd we'll we're we've were weren't what what's when when's where where's whether which
while who who's whom whose why why's will with within without won't would wouldn't yet you
you'd you'll you're you've your yours yourself yourselves
""".split())
"""English function words: never keywords, and they split keyphrases."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)*")
_PHRASE_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”«»|/\\—–\n]+|\s-\s")

_GREETINGS = frozenset({"hello", "hi", "hey", "hiya", "howdy", "greetings", "morning",
                        "evening", "afternoon", "yo", "salut", "hallo"})
_THANKS = frozenset({"thanks", "thank", "thx", "cheers", "ty"})
_QUESTION_WORDS = frozenset({"what", "why", "how", "who", "whom", "whose", "when", "where",
                             "which", "can", "could", "should", "would", "is", "are", "do",
                             "does", "did", "will"})
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("summarize", "summarize"), ("summarise", "summarize"), ("summary", "summarize"),
    ("tl;dr", "summarize"), ("tldr", "summarize"),
    ("keywords", "keywords"), ("keyword", "keywords"), ("keyphrases", "keywords"),
    ("topics", "keywords"),
)


def _norm(word: str) -> str:
    word = word.lower().replace("’", "'")
    return word[:-2] if word.endswith("'s") else word


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, in order (split after ``.!?`` and at blank
    lines)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s and s.strip()]


def content_words(text: str) -> list[str]:
    """The lower-cased words of ``text`` that are not stop words, numbers or single
    letters."""
    out = []
    for raw in _WORD.findall(text):
        word = _norm(raw)
        if len(word) > 1 and word not in STOP_WORDS and not word.isdigit():
            out.append(word)
    return out


def _score_sentences(parts: list[str]) -> list[float]:
    frequency: dict[str, int] = {}
    for part in parts:
        for word in content_words(part):
            frequency[word] = frequency.get(word, 0) + 1
    if not frequency:
        return [0.0 for _ in parts]
    top = max(frequency.values())
    scores = []
    for index, part in enumerate(parts):
        words = content_words(part)
        if not words:
            scores.append(0.0)
            continue
        weight = sum(frequency[w] / top for w in set(words))
        score = weight / math.sqrt(len(words))
        if index == 0:
            score *= 1.15  # the opening sentence usually sets the topic
        scores.append(score)
    return scores


def summarize(text: str, max_sentences: int = 2) -> list[str]:
    """The ``max_sentences`` most representative sentences of ``text``, in the order
    they appear. A text of that many sentences or fewer is returned whole."""
    parts = sentences(text)
    if max_sentences <= 0:
        return []
    if len(parts) <= max_sentences:
        return parts
    scores = _score_sentences(parts)
    ranked = sorted(range(len(parts)), key=lambda i: (-scores[i], i))[:max_sentences]
    return [parts[i] for i in sorted(ranked)]


def _fold(word: str) -> str:
    """The key a word is counted under: a plain English plural folds into its singular
    (``plugins`` → ``plugin``), so both forms count as one word."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _runs(text: str) -> list[list[tuple[str, str]]]:
    """Runs of content words between stop words and punctuation: ``(key, word)`` pairs."""
    runs: list[list[tuple[str, str]]] = []
    for chunk in _PHRASE_BREAK.split(text):
        current: list[tuple[str, str]] = []
        for raw in _WORD.findall(chunk):
            word = _norm(raw)
            if word in STOP_WORDS or len(word) < 2 or word.isdigit():
                if current:
                    runs.append(current)
                current = []
            else:
                current.append((_fold(word), word))
        if current:
            runs.append(current)
    return runs


def keywords(text: str, limit: int = 5, max_words: int = 3) -> list[str]:
    """The ``limit`` best keywords and keyphrases of ``text``, best first.

    Candidates are the words and the runs of up to ``max_words`` content words between
    stop words and punctuation. A candidate scores how often it occurs times the number
    of its words; a phrase of several words counts only when it occurs more than once,
    and a word is not listed again after a phrase that holds it. Plurals count with
    their singular. Ties go to the more frequent words, then to the candidate seen
    first; everything is lower case.
    """
    runs = _runs(text)
    frequency: dict[str, int] = {}
    for run in runs:
        for key, _ in run:
            frequency[key] = frequency.get(key, 0) + 1
    seen: dict[tuple[str, ...], list[Any]] = {}  # key -> [count, first position, words]
    position = 0
    for run in runs:
        for start in range(len(run)):
            for size in range(1, max_words + 1):
                if start + size > len(run):
                    break
                gram = run[start:start + size]
                key = tuple(k for k, _ in gram)
                entry = seen.setdefault(key, [0, position, " ".join(w for _, w in gram)])
                entry[0] += 1
            position += 1

    def score(key: tuple[str, ...]) -> float:
        # occurrences, times the words a phrase holds; the frequency of its words in
        # the whole text breaks ties
        return seen[key][0] * len(key) + 0.1 * sum(frequency[k] for k in key) / len(key)

    eligible = [k for k, (count, _, _) in seen.items() if len(k) == 1 or count > 1]
    ranked = sorted(eligible, key=lambda k: (-score(k), seen[k][1], -len(k)))
    chosen: list[tuple[str, ...]] = []
    for key in ranked:
        if len(chosen) >= max(0, limit):
            break
        if any(set(key) <= set(other) for other in chosen):
            continue  # already said, as part of a phrase
        chosen.append(key)
    return [seen[k][2] for k in chosen]


@dataclass(frozen=True)
class Reply:
    """What :meth:`NodeAI.respond` answers: the intent it recognised and the text."""

    intent: str
    text: str

    def as_dict(self) -> dict[str, str]:
        """Plain data for the API."""
        return {"intent": self.intent, "answer": self.text}


def _strip_prefix(prompt: str) -> tuple[str | None, str]:
    """``("summarize", rest)`` for ``summarize: rest`` and the like; else (None, prompt)."""
    lowered = prompt.lower()
    for prefix, intent in _PREFIXES:
        if lowered.startswith(prefix):
            rest = prompt[len(prefix):]
            if not rest or rest[0] in ":-— \n\t":
                return intent, rest.lstrip(":-— \n\t")
    return None, prompt


class NodeAI:
    """The ``ai`` service of the AI node.

    ``config`` returns the plugin's current settings (``summary_sentences``,
    ``keyword_limit``); it is read on every call, so new settings apply at once.
    Offers what the host's default (:class:`plexichat.services.ai.LocalAI`) offers —
    ``generate_content``, ``summarize``, ``keywords`` and ``label`` — plus
    :meth:`respond`, which also says which intent it recognised.
    """

    label = LABEL
    """Shown in every answer so nobody mistakes it for a language model."""

    def __init__(self, config: Callable[[], Mapping[str, Any]] | None = None) -> None:
        self._config = config or dict

    def _setting(self, key: str, default: int) -> int:
        value = self._config().get(key, default)
        return int(value) if isinstance(value, (int, float)) else default

    def _tag(self, text: str) -> str:
        return f"[{self.label}] {text}"

    # --- the LocalAI interface ----------------------------------------------------------

    async def generate_content(self, prompt: str) -> str:
        """A deterministic, labelled answer to ``prompt`` (see :meth:`respond`)."""
        return self.respond(prompt).text

    async def summarize(self, text: str, max_sentences: int | None = None) -> str:
        """A labelled extractive summary of ``text``."""
        count = max_sentences or self._setting("summary_sentences", 2)
        return self._tag(" ".join(summarize(text, count)))

    async def keywords(self, text: str, limit: int | None = None) -> list[str]:
        """The best keywords and keyphrases of ``text``, best first."""
        return keywords(text, limit or self._setting("keyword_limit", 5))

    # --- the responder ------------------------------------------------------------------

    def respond(self, prompt: str) -> Reply:
        """Recognise the intent of ``prompt`` and answer it.

        - ``summarize: TEXT`` (also ``summarise``, ``summary``, ``tl;dr``): a summary;
        - ``keywords: TEXT`` (also ``keyphrases``, ``topics``): the keyphrases;
        - a greeting, a request for ``help``, thanks: a fixed, friendly answer;
        - a question: what it is about, and that this node looks nothing up;
        - anything else: a summary when it is long, otherwise what it is about.
        """
        prompt = (prompt or "").strip()
        if not prompt:
            return Reply("empty", self._tag("Say something and I will answer. "
                                            + _HELP))
        intent, rest = _strip_prefix(prompt)
        limit = self._setting("keyword_limit", 5)
        if intent == "summarize":
            if not sentences(rest):
                return Reply("summarize", self._tag("Give me a text to summarize after "
                                                    "'summarize:'."))
            picked = summarize(rest, self._setting("summary_sentences", 2))
            return Reply("summarize", self._tag("Summary: " + " ".join(picked)))
        if intent == "keywords":
            found = keywords(rest, limit)
            return Reply("keywords", self._tag(
                "Keywords: " + (", ".join(found) if found else "none found") + "."))
        words = [_norm(w) for w in _WORD.findall(prompt)]
        if words and words[0] in _GREETINGS and len(words) <= 6:
            return Reply("greeting", self._tag("Hello! I am PlexiChat's local AI node. "
                                               + _HELP))
        if (words and words[0] == "help") or prompt in ("?", "help?"):
            return Reply("help", self._tag(_HELP))
        if words and words[0] in _THANKS and len(words) <= 6:
            return Reply("thanks", self._tag("You're welcome!"))
        topics = keywords(prompt, min(limit, 3))
        about = ", ".join(topics) if topics else "nothing I can name"
        if prompt.endswith("?") or (words and words[0] in _QUESTION_WORDS
                                    and len(sentences(prompt)) == 1):
            return Reply("question", self._tag(
                f"I answer from the text alone (no network, no model), so I cannot look "
                f"that up. Your question is about: {about}."))
        if len(sentences(prompt)) > self._setting("summary_sentences", 2):
            picked = summarize(prompt, self._setting("summary_sentences", 2))
            return Reply("statement", self._tag("Summary: " + " ".join(picked)))
        return Reply("statement", self._tag(f"Noted: {len(words)} word(s) about {about}."))


_HELP = ("I can summarize a text ('summarize: TEXT') and find its keywords "
         "('keywords: TEXT'); everything is computed locally from your words.")
