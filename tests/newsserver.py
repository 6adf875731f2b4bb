"""A loopback HTTP server (http.server in a thread) serving real-looking news pages, feeds and misbehaviours."""
from __future__ import annotations

import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} | The Harbour Times</title>
<link rel="canonical" href="{canonical}">
<meta property="og:site_name" content="The Harbour Times">
<meta name="author" content="Maria Costa">
{date_meta}
<script>window.dataLayer = [{{"tracking": "secret-tracker-id"}}];</script>
<style>.ad {{ display: block; }}</style>
</head><body>
<div id="cookie-banner">We use cookies to personalise content and ads. By clicking Accept you agree to our cookie policy.</div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/business">Business</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/subscribe">Subscribe now for unlimited access</a></li></ul></nav></header>
<div class="ad">Advertisement: Get 50% off premium noise-cancelling headphones this weekend only.</div>
<main><article>
<h1>{title}</h1>
<p class="byline">By Maria Costa</p>
{body}
</article>
<section class="related"><h2>Related stories</h2><ul>
<li><a href="/a">Fishermen protest against new quotas in the northern bay</a></li>
<li><a href="/b">Celebrity chef opens a seafood restaurant by the old lighthouse</a></li></ul></section>
<section class="comments"><h2>Comments</h2>
<div class="comment"><p>Reader123: This is outrageous, the council never listens to anyone!</p></div>
<div class="comment"><p>Jo: Great reporting as always, keep it up.</p></div></section>
</main>
<footer><p>Copyright 2019 The Harbour Times. All rights reserved.</p><p>Contact us | Privacy policy | Terms of use</p></footer>
<script>console.log("analytics loaded");</script>
</body></html>"""

STORY = [
    "PIRAEUS, Dec 26 (Reuters) - Ferry crews walked off the job on Thursday, stranding thousands of holiday travellers in the port.",
    "The seamen's union said its members had not received a pay rise in four years.",
    "Talks with the shipping ministry are due to resume on Friday morning.",
    "Port officials said more than forty sailings had been cancelled by midday.",
]


def story_page(path: str, title: str = "Ferry strike strands holiday travellers", dated: bool = True,
               body: list[str] | None = None, host: str = "") -> bytes:
    paras = "\n".join(f"<p>{s}</p>" for s in (body or STORY))
    meta = '<meta property="article:published_time" content="2019-12-26T09:30:00Z">' if dated else ""
    return PAGE.format(title=title, canonical=f"{host}{path}", date_meta=meta, body=paras).encode()


def rss(host: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Harbour Times World</title><link>{host}/</link><description>World news</description>
<item><title>Ferry strike strands holiday travellers</title><link>{host}/news/ferry.html</link>
<guid>{host}/news/ferry.html</guid><pubDate>Thu, 26 Dec 2019 09:30:00 GMT</pubDate>
<description>Ferry crews walked off the job.</description></item>
<item><title>Harbour dredging contract signed</title><link>{host}/news/dredging.html</link>
<guid>dredging-1</guid><pubDate>Fri, 27 Dec 2019 10:00:00 GMT</pubDate>
<description>&lt;p&gt;The port authority signed a contract to dredge the harbour entrance.&lt;/p&gt;</description></item>
<item><title>Lighthouse restoration finished</title><link>{host}/missing</link>
<guid>lighthouse-1</guid><pubDate>Sat, 28 Dec 2019 08:00:00 GMT</pubDate>
<description>Restoration of the old lighthouse was completed on Saturday, the city council said.</description></item>
</channel></rss>""".encode()


def atom(host: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Harbour Times Business</title><id>urn:harbour:business</id>
<updated>2020-01-03T12:00:00Z</updated>
<entry><title>Shipyard wins naval order</title><id>urn:harbour:shipyard</id>
<link href="{host}/news/shipyard.html"/><updated>2020-01-03T12:00:00Z</updated>
<summary>The shipyard won an order for two patrol vessels.</summary></entry>
</feed>""".encode()


SHIPYARD = ["The Aegean shipyard has won an order to build two patrol vessels for the coast guard, the company said on Friday.",
            "The contract is worth about 120 million euros and secures work for six hundred people until 2023.",
            "Construction of the first vessel will start in the spring."]
DREDGING = ["The port authority signed a contract on Friday to dredge the harbour entrance to a depth of sixteen metres.",
            "Larger container ships will be able to call at the port once the work is finished next year.",
            "Environmental groups have asked for the dredged sand to be tested for pollutants."]


class NewsServer:
    """`with NewsServer() as s:` serves on 127.0.0.1 at a free port; `s.url(path)`; `s.requests` records (path, headers)."""

    def __init__(self, hang_seconds: float = 5.0):
        self.hang_seconds = hang_seconds
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.extra: dict[str, tuple[int, str, bytes]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, status: int, ctype: str, body: bytes, headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def redirect(self, where: str):
                self.send_response(302)
                self.send_header("Location", where)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                host = server.base
                p = self.path
                if p in server.extra:
                    status, ctype, body = server.extra[p]
                    return self.send(status, ctype, body)
                if p == "/news/ferry.html":
                    return self.send(200, "text/html; charset=utf-8", story_page(p, host=host))
                if p == "/news/undated.html":  # no date metadata: the dateline has no year, the URL none either
                    return self.send(200, "text/html", story_page(p, dated=False, host=host))
                if p == "/2019/12/27/dateline.html":  # no date metadata: dateline + year from the URL
                    return self.send(200, "text/html", story_page(p, dated=False, host=host))
                if p == "/news/shipyard.html":
                    return self.send(200, "text/html", story_page(p, "Shipyard wins naval order", False, SHIPYARD, host))
                if p == "/news/dredging.html":
                    return self.send(200, "text/html", story_page(p, "Harbour dredging contract signed", False, DREDGING, host))
                if p == "/feed.rss":
                    return self.send(200, "application/rss+xml", rss(host))
                if p == "/feed.atom":
                    tag = '"atom-v1"'
                    if self.headers.get("If-None-Match") == tag:
                        self.send_response(304)
                        self.send_header("ETag", tag)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    return self.send(200, "application/atom+xml", atom(host),
                                     {"ETag": tag, "Last-Modified": formatdate(0, usegmt=True)})
                if p == "/hang":
                    time.sleep(server.hang_seconds)
                    return self.send(200, "text/html", b"<p>too late</p>")
                if p == "/big":  # 30 MB, no Content-Length: must be cut off while streaming
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    chunk = b"<p>" + b"x" * 1021 + b"</p>"
                    try:
                        for _ in range(30 * 1024):
                            self.wfile.write(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    self.close_connection = True
                    return
                if p == "/big-declared":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(30 * 2**20))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    return
                if p == "/loop":
                    return self.redirect("/loop2")
                if p == "/loop2":
                    return self.redirect("/loop")
                if p == "/to-file":
                    return self.redirect("file:///etc/passwd")
                if p == "/to-ftp":
                    return self.redirect("ftp://127.0.0.1/pub/story.html")
                if p == "/moved":
                    return self.redirect("/news/ferry.html")
                if p == "/report.pdf":
                    return self.send(200, "application/pdf", b"%PDF-1.4 not a page")
                if p == "/data.json":
                    return self.send(200, "application/json", b'{"a": 1}')
                return self.send(404, "text/html", b"<h1>Not found</h1>")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> NewsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
