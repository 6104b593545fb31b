"""The built-in synthetic CEDM data set: a physically grounded dual-energy breast phantom.

The paper's 96 patients are private, so d2tl ships a generator of look-alike cases, written as
real MG DICOM files (headers as DICOM PS3.3 describes a CEDM image, see
:mod:`.dicom_files`) with a case table (:mod:`d2tl.data.cases`), true lesion masks and a
``dataset.json`` holding every parameter and each case's ground truth. Everything is
deterministic from :attr:`SynthConfig.seed`; case ``i`` depends only on the seed and ``i``.

Generative model (one breast, one mass per case; two views, CC and MLO)
----------------------------------------------------------------------
**Detector and geometry.** A Hologic-like detector of 3328 rows x 2560 columns at 0.07 mm
("full resolution"). Images are generated directly at ``scale`` image pixels per full-resolution
pixel (default 0.25: 832 x 640 px of 0.28 mm; DICOM PixelSpacing = 0.07 / scale). Every length
(lesion size, texture, vessels, box jitter) is defined in mm or full-resolution px and
multiplied by ``scale``. Storage follows real data (checked on CDD-CESM): a left breast has its
chest wall at column 0 and the nipple pointing right; a right breast is stored mirrored. The
laterality is drawn per case (1/2 each); box centres and masks are in stored coordinates.

**Breast.** A compressed breast of thickness T (CC ~ N(5.5, 1) cm, clipped to 3-8 cm; MLO 0-15 %
thicker) whose outline is a superellipse against the chest wall, x_edge(y) = D (1 -
|(y - y_n)/H|^p)^(1/p), with nipple depth D, half-heights H (upper and lower), nipple row y_n and
exponent p drawn per patient. The MLO outline's upper half-height reaches past the top edge
(axillary tail), and a pectoral-muscle wedge with a slightly curved front fills the top
chest-wall corner. Thickness: uniform T inside (with a small paddle tilt), and a semicircular
edge of radius T/2 towards the skin line, so the projected path falls to 0 at the outline; a
1.5 mm skin layer gives the bright skin line of LE images.

**Fibroglandular tissue.** Power-law noise 1/f^beta (beta = 3, Burgess 2001) made by FFT in
physical frequency units, plus a second, strongly anisotropic component sampled in polar
coordinates around the nipple (strands converging on it, like ducts and Cooper ligaments).
Their sum plus a spatial prior (a subcutaneous fat layer of 3-12 mm with no glandular tissue,
more glandular tissue towards the chest wall and the breast's centre line) goes through a soft
threshold chosen so that the mean glandular fraction of the path equals the patient's
volumetric density (uniform 5-50 %). The CC and MLO views are independent realisations of the
same patient's statistics (a 2-D approximation of one 3-D breast). A few tortuous vessels run
from the chest wall towards the nipple (radius 0.4-1.1 mm, tapering).

**Dual energy.** Each pixel's path is projected with Beer-Lambert at an effective (mono-
energetic) energy per exposure: A(E) = mu_fat T + (mu_gland - mu_fat)(t_gland + t_skin) +
(mu_muscle - mu_fat) t_muscle + sum over lesion and vessels of (mu_x - mu_local) chord_x +
(mu/rho)_iodine(E) m_iodine, with tissue coefficients after Johns & Yaffe (1987) and iodine mass
attenuation after NIST XCOM (K-edge 33.17 keV: iodine attenuates relatively much more at HE).
The kVp comes from the thickness as an automatic exposure control would choose it: LE 26-32 kVp
(effective energy 19-21 keV, W/Rh-like), HE 45-49 kVp (34.5-36 keV, above the K-edge,
W/Cu-like). Detector counts are N = N0 exp(-A) with N0 set so that the breast's median path gets
``photons_le`` / ``photons_he`` quanta per full-resolution pixel (times 1/scale^2 per image
pixel), with Gaussian-approximated Poisson noise, independent per exposure.

**Stored values.** LE and HE images store the inverse transmission N0 / N, so ln(LE) is the
projected attenuation and larger = denser = brighter, as in a presentation mammogram. The
recombined image is the vendors' weighted log subtraction, computed by
:func:`d2tl.data.images.recombine` from the noisy LE and HE: rec = ln(HE) - w ln(LE) =
A_HE - w A_LE, with w = (mu_gland - mu_fat)_HE / (mu_gland - mu_fat)_LE at the view's effective
energies (about 0.22), times (1 + e), e ~ N(0, ``cancellation_error``): the calibration's
imperfect cancellation (beam hardening, scatter) leaves a faint glandular residue. So in the
recombined image glandular contrast cancels; what remains is a smooth thickness term
(~0.13 T per cm), iodine (lesion, vessels, background parenchymal enhancement (BPE) with
0.02-0.25 mg/ml in glandular tissue, slight muscle uptake) and noise. The per-view weight is
in ``dataset.json`` and in the case table's extra columns ``cc_rec_weight``, ``mlo_rec_weight``:
``recombine(LE, HE, weight)`` of the written files gives back the written recombined image up
to quantisation.

**Lesion.** A 3-D ellipsoid (semi-axes a, b in the CC image plane, c along the CC projection,
compressed to at most 0.4 T), rotated in the CC plane. Its projection in each view is exact for
the ellipsoid: the outline is the projected ellipse and the path length the chord along the
view's projection direction (vertical for CC, oblique at 40-60 degrees for MLO), so both views
show the same body. The projected outline is then perturbed by a Fourier series of the polar
angle (margin irregularity; same amplitudes in both views, phases per view, a 2-D approximation
of an irregular 3-D body) and may carry spicules (thin dense tapering strands, drawn per view).
Position: one 3-D
position gives the same distance from the nipple in both views and a cross coordinate that is
mediolateral in CC and oblique in MLO; it is redrawn until the body lies inside the breast (3 mm
from the skin, outside the pectoral muscle) in both views. Size: the longer side of the lesion's
smallest axis-aligned enclosing rectangle in the CC view (body, without spicules) at full
resolution. Sizes are the log-spaced quantiles of ``size_range`` (35 to 1175 px, the paper's
range), one set per class, shuffled within the class, so both classes span the range with the
same size distribution (no size shortcut). In LE the mass is 2-5 % denser than glandular tissue
and replaces the local fat/gland mixture along its chord; in the recombined image its iodine
(concentration x chord) shows as enhancement. The mask is the projected body (spicules
excluded), in stored coordinates.

**Enhancement depth** (``enhancement_depth_cm``, ``synth --enhancement-depth CM``; off by
default). By path length, a lesion's iodine per area grows with its thickness, and over the
paper's 2.5-82 mm sizes the lesion's local contrast follows its size far more than its drawn
concentration (docs/learning.md measures it). With a depth set, the iodine per area is
concentration x that depth, shaped by the normalised path profile (chord / central chord), and
tissue displacement stays physical: the contrast then shows the enhancement strength whatever
the size. A modelling choice, not physics; it is recorded in ``dataset.json`` only when set.

**Class signal** (BI-RADS mass and CEM lexicon). Four features, each drawn from the
distribution of a "presented" class:

- shape: benign oval (aspect 0.55-0.75) or round, with a nearly circular outline; malignant
  irregular (strong low-order Fourier perturbation) or spiculated (milder irregularity plus 6-16
  spicules). Malignant-presented masses are also slightly denser in LE (5 % vs 2 %);
- margin: benign circumscribed (sharp edge); malignant indistinct (edge blurred by 6-15 % of
  the radius);
- enhancement strength: iodine concentration log-normal, benign median 0.75 mg/ml (SD of the
  log 0.35), malignant 1.6 mg/ml (0.30), overlapping;
- enhancement pattern: benign homogeneous; malignant heterogeneous (patchy) or rim (a 3-D shell
  around a weakly enhancing core).

**Difficulty** d in [0, 1]: each feature's presented class is the other class with probability
d / 2, independently per feature. d = 0: every feature typical of the case's class (easy); d = 1:
every feature independent of the label (each from either class with probability 1/2), so the
classes are indistinguishable. The default d = 0.25 makes each feature typical with
probability 0.875, so an ideal observer reading the four presented classes by majority (ties
broken at random) is right 95.7 % of the time. It was 0.5 (84.4 %) until generator version 2; that
put the paper's own 80 % at the ceiling, leaving no room for the comparisons of Sec. 4.1-4.4
(80 % vs 65 %, say) to show, so the default was lowered before any model was tuned on it
(``--difficulty 0.5`` gives the old set).
Nothing else depends on the class (size, position, breast, density, BPE, laterality, dose).

**Box centres.** The paper's boxes were centred "roughly" by a non-expert on the recombined
image (Sec. 3.1, 4.2: "already quite rough"). The case table's box centre per view is the lesion
body's centroid plus Gaussian jitter with standard deviation ``placement_jitter`` full-resolution
px per axis, drawn independently per view (clipped to the image); the masks stay the truth. The
default, 20 px per axis (1.4 mm; radial error median 24 px, RMS 28 px), puts the rough placement at
the size of the paper's 20 px shift, which it found harmless; until generator version 2 it was
8 px, closer to an expert's click. Sec. 4.2's shifts are added to the jittered centre, so a
shift s leaves the box centre at a mean squared distance 2 x 20^2 + s^2 px^2 from the lesion's.

Not modelled (simplifications): scatter, heel effect, detector blur and electronic noise,
beam hardening (except through the cancellation error), microcalcifications, the nipple
itself, architectural distortion, non-mass enhancement, and 3-D consistency of the
fibroglandular texture between the two views.

Output folder (written atomically)::

    cases.csv                               the case table (d2tl.data.cases)
    dataset.json                            parameters, seed, d2tl version, per-case truth
    images/<id>/<id>_<L|R>_<LE|REC|HE>_<CC|MLO>.dcm
    masks/<id>_<CC|MLO>.png                 uint8 0/255, stored orientation

Modules: :mod:`.physics` (attenuation, kVp), :mod:`.config` (:class:`SynthConfig`, labels and
sizes), :mod:`.noise` (random fields), :mod:`.anatomy` (breast, glandular tissue, vessels),
:mod:`.lesion` (class features, the mass and its rendering), :mod:`.render` (one case in
memory), :mod:`.dicom_files` (DICOM headers), :mod:`.dataset` (writing the set),
:mod:`.command` (``python -m d2tl synth``).
"""

from __future__ import annotations

from .command import add_arguments, run  # noqa: F401
from .config import (COMMAND_HELP, FEATURES, FULL_COLS, FULL_ROWS, FULL_SPACING_MM, GENERATOR,  # noqa: F401
                     GENERATOR_VERSION, VIEW_CODES, SynthConfig, case_id, case_labels, lesion_sizes)
from .dataset import write_dataset  # noqa: F401
from .lesion import _draw_features  # noqa: F401  (tests compare it with d2tl.data.oracle's model)
from .physics import (BLOOD_FACTOR, BLOOD_IODINE, ENHANCEMENT_MEDIAN, IODINE_K_EDGE_KEV,  # noqa: F401
                      MUSCLE_FACTOR, MUSCLE_IODINE, SPICULE_DEPTH, cancelling_weight, effective_energy,
                      he_kvp, le_kvp, mu_fat, mu_gland, mu_iodine)
from .render import generate_case  # noqa: F401
