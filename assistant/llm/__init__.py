"""Language models over the OpenAI-compatible chat-completions protocol: the HTTP client and a local server."""
from .client import ChatClient, LLMError

__all__ = ["ChatClient", "LLMError"]
