"""The chat in the browser: `python app.py` (or `make run`) = `assistant serve` with seeds/; see assistant/serve/."""
from assistant.serve.server import main

if __name__ == "__main__":
    raise SystemExit(main())
