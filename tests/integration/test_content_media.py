"""Images and downloads inside a pack are served by the tool, and nothing else from its folder."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def test_pack_media_is_served_with_a_sandbox(make_app, tmp_path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content" / "fast-track", content / "fast-track")
    module = content / "fast-track" / "running-the-course"
    (module / "media").mkdir(exist_ok=True)  # the built templates may be there already
    (module / "media" / "skema.png").write_bytes(PNG)
    (module / "media" / "evil.html").write_text("<script>alert(1)</script>")
    client = make_app(CONTENT_DIR=str(content)).test_client()

    image = client.get("/content/fast-track/running-the-course/media/skema.png")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == PNG
    assert "sandbox" in image.headers["Content-Security-Policy"]
    assert client.get("/content/fast-track/running-the-course/media/evil.html").status_code == 404
    assert client.get("/content/fast-track/running-the-course/module.yaml").status_code == 404
    assert client.get("/content/fast-track/running-the-course/media/../module.yaml").status_code == 404
    assert client.get("/content/no-such/pack/media/skema.png").status_code == 404
