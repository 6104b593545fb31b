"""Reading a CEDM image's role from its header: Image Type by position, aliases, kVp, view codes."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from d2tl.data import dicom_tags
from d2tl.data.dicom_tags import ContradictoryTags, mode_of, pitch_of, scale_from_pitch, view_of


def header(image_type=None, kvp=None, **more) -> Dataset:
    ds = Dataset()
    if image_type is not None:
        ds.ImageType = image_type
    if kvp is not None:
        ds.KVP = kvp
    for keyword, value in more.items():
        setattr(ds, keyword, value)
    return ds


def code(value, scheme, meaning="") -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


@pytest.mark.parametrize("image_type, mode", [
    (["ORIGINAL", "PRIMARY", "", "", "LOW_ENERGY"], "le"),
    (["ORIGINAL", "PRIMARY", "", "", "HIGH_ENERGY"], "he"),
    (["DERIVED", "PRIMARY", "", "SUBTRACTION", ""], "rec"),
    (["DERIVED", "PRIMARY", "", "SUBTRACTION"], "rec"),  # value 5 left out
    (["ORIGINAL", "PRIMARY", "", "GENERATED_2D", "LOW_ENERGY"], "le"),
    (["DERIVED", "PRIMARY", "", "SUBTRACTION", "", "RECOMBINED"], "rec")])  # one role named twice
def test_standard_image_type_by_position(image_type, mode):
    reading = mode_of(header(image_type), "f.dcm")
    assert (reading.value, reading.source) == (mode, "standard")


@pytest.mark.parametrize("image_type, mode", [
    (["DERIVED", "PRIMARY", "", "RECOMBINED"], "rec"),  # what d2tl wrote before; GE-like
    (["DERIVED", "PRIMARY", "SUBTRACTED"], "rec"),
    (["DERIVED", "SECONDARY", "SUBTRACTION"], "rec"),  # SUBTRACTION outside value 4
    (["ORIGINAL", "PRIMARY", "", "LOW_ENERGY"], "le"),  # energy in value 4
    (["ORIGINAL", "PRIMARY", "HIGH_ENERGY"], "he"),
    ("LOW_ENERGY", "le")])  # a single value (pydicom gives a str)
def test_vendor_aliases(image_type, mode):
    reading = mode_of(header(image_type), "f.dcm")
    assert (reading.value, reading.source) == (mode, "vendor alias")


@pytest.mark.parametrize("image_type", [
    ["ORIGINAL", "PRIMARY", "", "LOW_ENERGY", "HIGH_ENERGY"],
    ["DERIVED", "PRIMARY", "", "SUBTRACTION", "LOW_ENERGY"],
    ["DERIVED", "PRIMARY", "RECOMBINED", "", "HIGH_ENERGY"]])
def test_two_roles_are_an_error_naming_the_file(image_type):
    with pytest.raises(ContradictoryTags, match=r"file scans/a\.dcm: ImageType .* names 2 roles"):
        mode_of(header(image_type), "scans/a.dcm")


@pytest.mark.parametrize("first, kvp, mode, note", [
    ("ORIGINAL", "28", "le", "KVP 28 <= 35"), ("ORIGINAL", "35", "le", "KVP 35 <= 35"),
    ("ORIGINAL", "49", "he", "KVP 49 >= 40"), ("ORIGINAL", "37", None, "between 35 and 40"),
    ("DERIVED", "49", None, "may be recombined"), ("DERIVED", "28", None, "may be recombined"),
    ("ORIGINAL", None, None, "KVP is absent")])
def test_kvp_fallback_when_image_type_says_nothing(first, kvp, mode, note):
    reading = mode_of(header([first, "PRIMARY"], kvp), "f.dcm")
    assert reading.value == mode and note in reading.note
    assert reading.source == ("kVp fallback" if mode else "")


def test_image_type_wins_over_kvp():
    assert mode_of(header(["ORIGINAL", "PRIMARY", "", "", "LOW_ENERGY"], "49")).value == "le"


@pytest.mark.parametrize("position, codes, view, source", [
    ("CC", None, "cc", "ViewPosition"),
    (None, [code("399162004", "SCT", "cranio-caudal")], "cc", "View Code Sequence"),
    (None, [code("399368009", "SCT", "medio-lateral oblique")], "mlo", "View Code Sequence"),
    (None, [code("R-10242", "SRT", "cranio-caudal")], "cc", "View Code Sequence"),
    (None, [code("R-10226", "SRT", "medio-lateral oblique")], "mlo", "View Code Sequence"),
    ("MLO", [code("R-10226", "SRT")], "mlo", "ViewPosition and View Code Sequence")])
def test_view_from_position_or_code(position, codes, view, source):
    more = {"ViewPosition": position} if position else {}
    if codes:
        more["ViewCodeSequence"] = codes
    reading = view_of(header(**more))
    assert (reading.value, reading.source, reading.note) == (view, source, "")


def test_view_disagreement_and_other_views_are_reported():
    reading = view_of(header(ViewPosition="CC", ViewCodeSequence=[code("399368009", "SCT")]))
    assert reading.value is None
    assert reading.note == "ViewPosition 'CC' and View Code Sequence SCT:399368009 (MLO) disagree"
    lateral = view_of(header(ViewCodeSequence=[code("399260004", "SCT", "medial-lateral")]))
    assert lateral.value is None and "SCT:399260004 is neither CC nor MLO" in lateral.note
    assert "neither ViewPosition nor View Code Sequence" in view_of(header()).note


def test_pitch_and_scale():
    both = header(ImagerPixelSpacing=["0.1", "0.1"], PixelSpacing=["0.094", "0.094"])
    assert pitch_of(both).value == "0.1" and pitch_of(both).source == "ImagerPixelSpacing"
    only = header(PixelSpacing=["0.085", "0.085"])
    assert (pitch_of(only).value, pitch_of(only).source) == ("0.085", "PixelSpacing")
    assert pitch_of(header()).value is None
    assert scale_from_pitch("0.07") == 1.0 and scale_from_pitch("0.1") == 0.7
    assert scale_from_pitch("0.28") == 0.25  # the synthetic default
    assert dicom_tags.REFERENCE_PITCH_MM == 0.07


def test_intent_and_mixing():
    assert dicom_tags.intent_of(header(PresentationIntentType="FOR PROCESSING")) == "FOR PROCESSING"
    assert dicom_tags.intent_of(header(SOPClassUID="1.2.840.10008.5.1.4.1.1.1.2.1")) == "FOR PROCESSING"
    assert dicom_tags.intent_of(header()) == ""
    assert dicom_tags.mixed_intent([("a", "FOR PRESENTATION"), ("b", "FOR PRESENTATION"), ("c", "")]) is None
    message = dicom_tags.mixed_intent([("a.dcm", "FOR PRESENTATION"), ("b.dcm", "FOR PROCESSING")])
    assert "1 FOR PRESENTATION (a.dcm)" in message and "1 FOR PROCESSING (b.dcm)" in message
    assert "--mixed-intent" in message
