"""The chat in the browser: `python app.py` (or `make run`); the app itself is assistant/ui/app.py."""
from assistant.ui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
