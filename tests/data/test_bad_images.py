import pytest

from dshgan.data.bad_images import BadImages
from dshgan.data.errors import DataError


def test_skipped_images_are_counted_and_listed(tmp_path):
    bad = BadImages(100, "skip", 0.05)
    bad.record("a.jpg", "cannot decode image a.jpg: truncated")
    bad.record("b/c.jpg", "cannot read image b/c.jpg")
    assert len(bad) == 2 and "2 of 100 images" in bad.summary()
    path = bad.write(tmp_path / "bad_images.txt")
    assert path.read_text().splitlines() == ["a.jpg\tcannot decode image a.jpg: truncated",
                                             "b/c.jpg\tcannot read image b/c.jpg"]


def test_nothing_is_written_when_every_image_decoded(tmp_path):
    assert BadImages(3).write(tmp_path / "bad.txt") is None
    assert not (tmp_path / "bad.txt").exists()


def test_fail_mode_stops_at_the_first_bad_image():
    with pytest.raises(DataError, match="a.jpg.*--on-bad-image skip"):
        BadImages(100, "fail").record("a.jpg", "cannot decode image a.jpg")


def test_more_than_the_allowed_share_stops_the_run():
    bad = BadImages(10, "skip", 0.2)
    bad.record("1", "m1")
    bad.record("2", "m2")  # 2 of 10 is the allowed share
    with pytest.raises(DataError, match="3 of 10 images could not be decoded.*m3"):
        bad.record("3", "m3")
