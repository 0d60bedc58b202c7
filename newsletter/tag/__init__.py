"""Topic tagging: the built-in privacy taxonomy (English and German) plus the user's own.

``Tagger.load(user_topics)`` compiles once; ``tagger.tag(title, text)`` returns a
``TagResult`` with topics in taxonomy order and the phrases that triggered each.
"""

from .tagger import Tagger
from .taxonomy import validate_user_topics

__all__ = ["Tagger", "validate_user_topics"]
