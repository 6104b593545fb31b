"""d2tl: a reproduction of dual-mode deep transfer learning (D2TL) for CEDM.

Zhang et al., "Dual-mode deep transfer learning (D2TL) system for breast cancer detection
using contrast enhanced digital mammograms". See README.md for the data flow.
"""

__version__ = "0.1.0"
