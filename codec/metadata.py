"""What a picture carries besides its pixels, between Pillow images and .gzc files.

The chunks themselves are ``formats/metadata.py``; this module is the image
side: which metadata an input holds (:func:`from_image`), which of it the user
keeps (:func:`parse_selection`, the ``--metadata`` option), how the EXIF
orientation is reset once the pixels have been turned upright
(:func:`reset_orientation`), how it goes into ``Image.info`` and into the
output formats Pillow can write it to (:func:`to_info`, :func:`save_options`),
and what ``gzc-info`` says about it (:func:`describe`).
"""
from __future__ import annotations

import re

from ..formats import UnsupportedSettingError
from ..formats.metadata import EXIF_PREFIX, FIELDS, LIMITS, NAMES, TIFF_HEADERS, Metadata

#: ``--metadata`` words → Metadata fields (as avifenc/cwebp name them)
KINDS = {"icc": "icc_profile", "exif": "exif", "xmp": "xmp"}
ORIENTATION_TAG = 0x0112
#: JPEG puts EXIF and XMP in one APP1 marker each: at most 65,533 bytes with their headers
JPEG_MARKER_PAYLOAD = 65533
JPEG_XMP_HEADER = len(b"http://ns.adobe.com/xap/1.0/\x00")


class MetadataSelectionError(UnsupportedSettingError):
    """A ``--metadata`` value that is not all, none or a list of icc, exif and xmp."""


def parse_selection(value) -> frozenset[str]:
    """``"all"``, ``"none"``, ``"icc,exif"`` (or an iterable of those words) → the fields to keep."""
    words = value.split(",") if isinstance(value, str) else list(value)
    words = [w.strip().lower() for w in words if w.strip()]
    if words == ["all"]:
        return frozenset(FIELDS)
    if words == ["none"]:
        return frozenset()
    unknown = [w for w in words if w not in KINDS]
    if unknown or not words:
        raise MetadataSelectionError(f"--metadata takes all, none, or a comma list of icc, exif, xmp; "
                                     f"not {value!r}")
    return frozenset(KINDS[w] for w in words)


def from_image(info: dict) -> tuple[Metadata, list[str]]:
    """A Pillow image's ``info`` → (its metadata, warnings about what had to be left out).

    EXIF loses JPEG's ``Exif\\0\\0`` prefix (the chunk holds the TIFF structure);
    an item above the format's limit is left out, with a warning."""
    icc = info.get("icc_profile") or None
    exif = info.get("exif") or None
    if hasattr(exif, "tobytes"):                        # an Image.Exif given to Image.save
        exif = exif.tobytes()
    if isinstance(exif, bytes) and exif.startswith(EXIF_PREFIX):
        exif = exif[len(EXIF_PREFIX):]
    warnings = []
    if exif is not None and not (isinstance(exif, bytes) and exif.startswith(TIFF_HEADERS)):
        warnings.append("the input's EXIF is not a TIFF structure: left out")
        exif = None
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp") or None
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    values = {"icc_profile": icc, "exif": exif, "xmp": xmp}
    for name, ctype in FIELDS.items():
        if values[name] is not None and len(values[name]) > LIMITS[ctype]:
            warnings.append(f"the input's {NAMES[name]} is {len(values[name])} bytes, above the format's limit "
                            f"of {LIMITS[ctype]}: left out")
            values[name] = None
    return Metadata(**{k: bytes(v) if v is not None else None for k, v in values.items()}), warnings


def reset_orientation(metadata: Metadata) -> Metadata:
    """The metadata of a picture whose pixels were turned upright: the EXIF Orientation tag
    (IFD0, 0x0112) and XMP's ``tiff:Orientation`` say 1, every other byte is unchanged."""
    exif, xmp = metadata.exif, metadata.xmp
    if exif:
        exif = _exif_with_orientation_1(exif)
    if xmp:
        xmp = re.sub(rb"(tiff:Orientation\s*=\s*[\"'])[0-9]([\"'])", rb"\g<1>1\g<2>", xmp)
        xmp = re.sub(rb"(<tiff:Orientation>\s*)[0-9](\s*</tiff:Orientation>)", rb"\g<1>1\g<2>", xmp)
    return Metadata(metadata.icc_profile, exif, xmp)


def _exif_with_orientation_1(tiff: bytes) -> bytes:
    """Overwrite the value of IFD0's Orientation entry in place (a SHORT held in the entry
    itself); bytes that are not a readable TIFF structure come back unchanged."""
    order = "little" if tiff[:2] == b"II" else "big"

    def number(offset: int, size: int) -> int:
        return int.from_bytes(tiff[offset:offset + size], order)

    if len(tiff) < 8 or number(4, 4) + 2 > len(tiff):
        return tiff
    ifd = number(4, 4)
    for entry in range(ifd + 2, min(ifd + 2 + 12 * number(ifd, 2), len(tiff) - 11), 12):
        if number(entry, 2) == ORIENTATION_TAG and number(entry + 2, 2) == 3 and number(entry + 4, 4) == 1:
            out = bytearray(tiff)
            out[entry + 8:entry + 10] = (1).to_bytes(2, order)
            return bytes(out)
    return tiff


def to_info(metadata: Metadata) -> dict:
    """Metadata → ``Image.info`` entries, as Pillow's JPEG and PNG plugins fill them
    (EXIF with the ``Exif\\0\\0`` prefix, which every Pillow writer accepts)."""
    info = {}
    if metadata.icc_profile:
        info["icc_profile"] = metadata.icc_profile
    if metadata.exif:
        info["exif"] = EXIF_PREFIX + metadata.exif
    if metadata.xmp:
        info["xmp"] = metadata.xmp
    return info


def save_options(metadata: Metadata, pil_format: str) -> tuple[dict, list[str]]:
    """Pillow ``save`` keywords that write the metadata into ``pil_format``, and the names of
    what that format cannot hold (PPM, BMP and TGA hold none; JPEG limits EXIF and XMP to
    one 64 KB marker each; TIFF takes EXIF as tags, not as the original bytes)."""
    kept, dropped = {}, []
    if pil_format not in ("PNG", "JPEG", "WEBP", "TIFF"):
        return {}, [NAMES[name] for name in FIELDS if getattr(metadata, name)]
    if metadata.icc_profile:
        kept["icc_profile"] = metadata.icc_profile
    if pil_format == "TIFF":                 # EXIF and XMP become tags of the TIFF's own directory
        if metadata.exif or metadata.xmp:
            kept["tiffinfo"] = _tiff_tags(metadata)
        return kept, dropped
    if metadata.exif:
        if pil_format == "JPEG" and len(EXIF_PREFIX) + len(metadata.exif) > JPEG_MARKER_PAYLOAD:
            dropped.append(NAMES["exif"])
        else:
            kept["exif"] = EXIF_PREFIX + metadata.exif
    if metadata.xmp:
        if pil_format == "JPEG" and JPEG_XMP_HEADER + len(metadata.xmp) > JPEG_MARKER_PAYLOAD:
            dropped.append(NAMES["xmp"])
        elif pil_format == "PNG":
            from PIL import PngImagePlugin
            text = PngImagePlugin.PngInfo()
            text.add_itxt("XML:com.adobe.xmp", metadata.xmp.decode("utf-8", "replace"))
            kept["pnginfo"] = text
        else:
            kept["xmp"] = metadata.xmp
    return kept, dropped


def _tiff_tags(metadata: Metadata):
    """Pillow's TIFF writer takes either ``tiffinfo`` or ``exif``, not both: the EXIF tags
    (sub-directories included) and XMP (tag 700) in one directory. A damaged EXIF is left out."""
    from PIL import Image
    tags = Image.Exif()
    if metadata.exif:
        try:
            tags.load(metadata.exif)
        except Exception:  # noqa: BLE001 — Pillow's parser raises many kinds; the XMP still goes in
            tags = Image.Exif()
    if metadata.xmp:
        tags[700] = metadata.xmp
    return tags


def describe(metadata: Metadata) -> dict:
    """What ``gzc-info`` shows: the ICC profile's description, the EXIF date and camera."""
    out = {}
    if metadata.icc_profile:
        out["icc_profile"] = {"bytes": len(metadata.icc_profile),
                              "description": icc_description(metadata.icc_profile)}
    if metadata.exif:
        out["exif"] = {"bytes": len(metadata.exif), **exif_summary(metadata.exif)}
    if metadata.xmp:
        out["xmp"] = {"bytes": len(metadata.xmp)}
    return out


def icc_description(profile: bytes) -> str | None:
    """The profile's ``desc`` tag (ICC v2 ``desc`` ASCII or v4 ``mluc`` first record), or None."""
    def u32(offset: int) -> int:
        return int.from_bytes(profile[offset:offset + 4], "big")

    if len(profile) < 132:
        return None
    for i in range(min(u32(128), (len(profile) - 132) // 12)):
        signature, offset, size = profile[132 + 12 * i:136 + 12 * i], u32(136 + 12 * i), u32(140 + 12 * i)
        if signature != b"desc" or offset + size > len(profile):
            continue
        tag = profile[offset:offset + size]
        if tag[:4] == b"desc" and len(tag) >= 12:
            text = tag[12:12 + int.from_bytes(tag[8:12], "big")]
            return text.split(b"\x00")[0].decode("latin-1").strip() or None
        if tag[:4] == b"mluc" and len(tag) >= 28:
            length, start = int.from_bytes(tag[20:24], "big"), int.from_bytes(tag[24:28], "big")
            return tag[start:start + length].decode("utf-16-be", "replace").strip("\x00 ") or None
    return None


def exif_summary(tiff: bytes) -> dict:
    """Camera (Make and Model) and date (DateTimeOriginal, else DateTime) from EXIF bytes."""
    from PIL import Image
    exif = Image.Exif()
    try:
        exif.load(tiff)
        sub = exif.get_ifd(0x8769)
    except Exception:  # noqa: BLE001 — a damaged EXIF is described as such, never fatal
        return {"readable": False}
    make, model = (str(exif.get(t) or "").strip("\x00 ") for t in (0x010F, 0x0110))
    camera = model if model.lower().startswith(make.lower()) else f"{make} {model}".strip()
    date = sub.get(0x9003) or exif.get(0x0132)
    out = {}
    if camera:
        out["camera"] = camera
    if date:
        out["date"] = str(date).strip("\x00 ")
    if exif.get(ORIENTATION_TAG):
        out["orientation"] = int(exif[ORIENTATION_TAG])
    return out
