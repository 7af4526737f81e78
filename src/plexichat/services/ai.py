"""The default AI service: a deterministic local responder, no network, no model.

It is clearly labelled as such in every answer. An ``ai_node`` plugin replaces it by
providing the ``ai`` service.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["LocalAI"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[A-Za-z0-9']+")


class LocalAI:
    """Answers from the text itself: echoes, extractive summaries, keyword lists."""

    label = "plexichat-local-ai"
    """Shown in every answer so nobody mistakes it for a language model."""

    async def generate_content(self, prompt: str) -> str:
        """A deterministic reply to ``prompt``."""
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
        words = _WORD.findall(prompt)
        return (f"[{self.label}] You said {len(words)} word(s): "
                f"{' '.join(words[:12])}{' …' if len(words) > 12 else ''} (ref {digest})")

    async def summarize(self, text: str, max_sentences: int = 2) -> str:
        """The first ``max_sentences`` sentences of ``text``."""
        sentences = [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]
        return f"[{self.label}] " + " ".join(sentences[:max_sentences])

    async def keywords(self, text: str, limit: int = 5) -> list[str]:
        """The most frequent words of four letters or more."""
        counts: dict[str, int] = {}
        for word in _WORD.findall(text.lower()):
            if len(word) >= 4:
                counts[word] = counts.get(word, 0) + 1
        return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]
