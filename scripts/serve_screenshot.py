"""The README's screenshot of the search page: one upload, taken in headless chromium.

    python scripts/serve_screenshot.py photos.index photos/labelled/cat/00006.jpg \\
        --out docs/img/serve.png

Serves INDEX on a free loopback port in this process (as ``dshgan serve`` does), opens the page
in Debian's chromium through the system chromedriver (apt-get install chromium
chromium-driver), uploads IMAGE, waits for every thumbnail, and writes a small PNG (a 128-colour
palette). The page test (tests/serve/test_page.py) drives the same steps and checks them.
"""

from __future__ import annotations

import argparse
import io
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from PIL import Image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index")
    parser.add_argument("image", help="the query to upload")
    parser.add_argument("--run", default=None)
    parser.add_argument("-k", type=int, default=12)
    parser.add_argument("--out", default="docs/img/serve.png")
    parser.add_argument("--size", default="1100x900", help="browser window, WxH")
    args = parser.parse_args()

    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from dshgan.serve import ServeSettings, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(ServeSettings(index=args.index, run=args.run))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2):
                break
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise SystemExit("the server did not become ready") from None
            time.sleep(0.2)

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={args.size.replace('x', ',')}", "--hide-scrollbars"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        wait = WebDriverWait(driver, 60)
        driver.get(f"{base}/?k={args.k}")
        wait.until(lambda d: "images" in d.find_element(By.ID, "index-info").text)
        driver.find_element(By.ID, "file").send_keys(str(Path(args.image).resolve()))
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results li")) == args.k)
        wait.until(lambda d: all(d.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0", img)
            for img in d.find_elements(By.CSS_SELECTOR, "img")))
        png = driver.get_screenshot_as_png()
    finally:
        driver.quit()
        server.should_exit = True
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(128)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    image.save(args.out, optimize=True)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KiB, "
          f"{image.width}x{image.height})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
