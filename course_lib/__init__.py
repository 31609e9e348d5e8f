"""course_lib: the small library behind the GAN course.

Import the parts you need, e.g. ``from course_lib import losses, viz``. Nothing heavy happens on
import: no GPU is touched, no seed is set, ipywidgets and mediapipe are imported only by the parts
that need them.
"""

__version__ = "0.1.0"
