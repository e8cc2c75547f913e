"""The Chainlit chat for `chainlit run app.py` from a checkout: the app itself is govassist/chat_app.py."""

from govassist import chat_app  # noqa: F401  (importing it registers the Chainlit events)
