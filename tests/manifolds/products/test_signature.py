"""Signature parsing: forms, defaults, round trip, and clear errors naming the signature."""

import pytest

from geomrep.manifolds.products import Factor, ProductSpace, format_signature, parse_signature


def test_forms():
    assert parse_signature("H2xS2xE2") == [Factor("H", -1.0, 2), Factor("S", 1.0, 2), Factor("E", 0.0, 2)]
    assert parse_signature("H4(-0.5)xE2") == [Factor("H", -0.5, 4), Factor("E", 0.0, 2)]
    assert parse_signature("(H2)^5") == [Factor("H", -1.0, 2)] * 5
    assert parse_signature("(H2xS1(2))^2 × e3") == [Factor("H", -1.0, 2), Factor("S", 2.0, 1)] * 2 + [
        Factor("E", 0.0, 3)
    ]
    assert parse_signature("H2^3") == [Factor("H", -1.0, 2)] * 3
    assert parse_signature([(-0.5, 3), (0, 2), (2.0, 1)]) == [
        Factor("H", -0.5, 3),
        Factor("E", 0.0, 2),
        Factor("S", 2.0, 1),
    ]
    assert parse_signature("H10(-1e-3)")[0].k == -1e-3
    assert format_signature("(H2)^2xS3(0.5)") == "H2xH2xS3(0.5)"
    assert ProductSpace("H3(-2)xE1").signature == "H3(-2)xE1"


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("", "empty"),
        ("H0", "dimension 0"),
        ("H2(0.5)", "curvature < 0"),
        ("S2(-1)", "curvature > 0"),
        ("E2(1)", "curvature 0"),
        ("Q2", "cannot read"),
        ("H2xx S2", "empty factor"),
        ("(H2", "parentheses"),
        ("H2(abc)", "not a number"),
        ("H2(nan)", "not finite"),
        ("(H2)^0", "≥ 1"),
        ([(1.0, 0)], "dimension 0"),
        ([(1.0, 2.5)], "int dim"),
        ([1.0], "pair"),
        ([], "empty"),
    ],
)
def test_bad_signatures_name_the_problem(bad, fragment):
    with pytest.raises(ValueError, match="signature") as info:
        parse_signature(bad)
    assert fragment in str(info.value)


def test_wrong_type():
    with pytest.raises(TypeError, match="signature"):
        parse_signature(3)
    with pytest.raises(TypeError, match="signature"):
        ProductSpace(None)
