import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEG2000Lossless, RLELossless

from d2tl.data.dicom_io import dequantised, read_dicom, read_header, write_mammogram
from d2tl.data.dicom_tags import mode_of, view_of
from d2tl.io.errors import DataError


def _values(rows=40, cols=32, seed=0):
    return np.random.default_rng(seed).normal(3.0, 0.7, size=(rows, cols)).astype(np.float32)


def test_rescale_round_trip(tmp_path):
    values = _values()
    path = tmp_path / "le.dcm"
    write_mammogram(path, values, patient_id="P1", view="cc", laterality="L", energy="LOW_ENERGY")
    ds = pydicom.dcmread(path)
    assert float(ds.RescaleSlope) != 1.0 and float(ds.RescaleIntercept) != 0.0
    assert ds.Modality == "MG" and ds.ViewPosition == "CC" and ds.ImageLaterality == "L"
    assert mode_of(ds).value == "le" and view_of(ds).value == "cc"
    back = read_dicom(path)
    assert back.dtype == np.float32 and back.shape == values.shape
    assert np.max(np.abs(back - values)) <= dequantised(values)
    # Without the modality LUT the stored integers are far from the values: rescale was applied.
    assert np.max(np.abs(ds.pixel_array.astype(float) - values)) > 100


def test_monochrome1_is_inverted_on_reading(tmp_path):
    values = np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 30
    m1, m2 = tmp_path / "m1.dcm", tmp_path / "m2.dcm"
    for path, photometric in ((m1, "MONOCHROME1"), (m2, "MONOCHROME2")):
        write_mammogram(path, values, patient_id="P", view="mlo", laterality="R", energy="RECOMBINED",
                        photometric=photometric)
    raw1 = pydicom.dcmread(m1).pixel_array
    assert raw1[0, 0] == 4095 and raw1[0, 1] == 4095 - 30  # stored inverted
    np.testing.assert_array_equal(read_dicom(m1), read_dicom(m2))
    np.testing.assert_array_equal(read_dicom(m2), values.astype(np.float32))


@pytest.mark.parametrize("bits", [8, 10, 16])
def test_bit_depths(tmp_path, bits):
    values = np.random.default_rng(bits).integers(0, 2 ** bits, size=(20, 16)).astype(np.uint16)
    path = tmp_path / f"b{bits}.dcm"
    write_mammogram(path, values, patient_id="P", view="cc", laterality="L", energy="LOW_ENERGY", bits_stored=bits)
    np.testing.assert_array_equal(read_dicom(path), values.astype(np.float32))


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless], ids=["rle", "jpeg2000"])
def test_compressed_transfer_syntaxes(tmp_path, syntax):
    values = np.random.default_rng(1).integers(0, 4096, size=(64, 48)).astype(np.uint16)
    path = tmp_path / "c.dcm"
    write_mammogram(path, values, patient_id="P", view="cc", laterality="L", energy="LOW_ENERGY",
                    transfer_syntax=syntax)
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == syntax
    np.testing.assert_array_equal(read_dicom(path), values.astype(np.float32))


def test_wrong_modality_names_the_file(tmp_path):
    path = tmp_path / "ct.dcm"
    write_mammogram(path, np.zeros((8, 8), np.uint16), patient_id="P", view="cc", laterality="L",
                    energy="LOW_ENERGY", extra={"Modality": "CT"})
    with pytest.raises(DataError, match=r"ct\.dcm.*modality 'CT'"):
        read_dicom(path)


def test_not_dicom_names_the_file(tmp_path):
    path = tmp_path / "notes.dcm"
    path.write_text("this is not an image")
    with pytest.raises(DataError, match=r"notes\.dcm.*not a readable DICOM"):
        read_header(path)
    with pytest.raises(DataError, match=r"notes\.dcm"):
        read_dicom(path)


def test_dicom_without_pixels(tmp_path):
    path = tmp_path / "sr.dcm"
    write_mammogram(path, np.zeros((8, 8), np.uint16), patient_id="P", view="cc", laterality="L", energy="LOW_ENERGY")
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(path)
    with pytest.raises(DataError, match=r"sr\.dcm.*without pixel data"):
        read_dicom(path)


@pytest.mark.parametrize("energy, image_type", [
    ("LOW_ENERGY", ["ORIGINAL", "PRIMARY", "", "", "LOW_ENERGY"]),
    ("HIGH_ENERGY", ["ORIGINAL", "PRIMARY", "", "", "HIGH_ENERGY"]),
    ("RECOMBINED", ["DERIVED", "PRIMARY", "", "SUBTRACTION", ""])])
def test_written_as_the_standard_describes_a_cedm_image(tmp_path, energy, image_type):
    path = tmp_path / "x.dcm"
    write_mammogram(path, np.zeros((8, 8), np.uint16), patient_id="P", view="mlo", laterality="R", energy=energy,
                    contrast_agent="iodinated contrast")
    ds = pydicom.dcmread(path)
    assert list(ds.ImageType) == image_type  # values 4 and 5, empty ones kept
    code = ds.ViewCodeSequence[0]
    assert (code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning) == ("399368009", "SCT", "medio-lateral oblique")
    assert ds.PresentationIntentType == "FOR PRESENTATION" and ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.1.2"
    assert ds.ContrastBolusAgent == "iodinated contrast" and ds.ContrastBolusIngredient == "IODINE"


def test_for_processing_intent_sets_the_sop_class(tmp_path):
    path = tmp_path / "raw.dcm"
    write_mammogram(path, np.zeros((8, 8), np.uint16), patient_id="P", view="cc", laterality="L",
                    energy="LOW_ENERGY", intent="FOR PROCESSING")
    ds = pydicom.dcmread(path)
    assert ds.PresentationIntentType == "FOR PROCESSING" and ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.1.2.1"
    assert "ContrastBolusAgent" not in ds
    with pytest.raises(ValueError, match="intent must be one of"):
        write_mammogram(path, np.zeros((8, 8), np.uint16), patient_id="P", view="cc", laterality="L",
                        energy="LOW_ENERGY", intent="RAW")


def test_quantise_alone():
    from d2tl.data.dicom_io import quantise

    stored, slope, intercept = quantise(np.array([[0, 7], [4095, 12]]), 12)
    assert stored.dtype == np.uint16 and stored.tolist() == [[0, 7], [4095, 12]] and (slope, intercept) == (1.0, 0.0)
    stored, slope, intercept = quantise(np.array([[-1.0, 0.0], [1.0, 3.0]]), 8)
    assert intercept == -1.0 and slope == pytest.approx(4 / 255) and stored.tolist() == [[0, 64], [128, 255]]
    inverted, _, _ = quantise(np.array([[-1.0, 0.0], [1.0, 3.0]]), 8, "MONOCHROME1")
    assert inverted.tolist() == [[255, 191], [127, 0]]
    assert quantise(np.full((2, 2), 5.0), 12)[1:] == (1.0, 5.0)  # flat: slope 1
    with pytest.raises(ValueError, match="outside 0..255"):
        quantise(np.array([[256]]), 8)
