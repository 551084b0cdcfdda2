"""A user's table as it comes: column roles decided on the whole table, the encoding fitted on
the training rows only, separators, encodings and the bad inputs that stop a load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnexp.data import load_dataset


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_each_column_gets_its_role_and_the_roles_line_says_why(loans_csv: Path) -> None:
    ds = load_dataset("csv", path=loans_csv, target="Status")
    roles = ds.roles
    assert roles.numeric == ["Age", "Income"]
    assert roles.categorical == ["Home", "Married", "Records", "Job"]
    assert roles.fit_options["booleans"] == ["Records"]
    assert set(roles.left_out) == {"Id", "Name"}
    assert "looks like row numbers" in roles.left_out["Id"]
    assert roles.left_out["Name"] == "400 distinct text values in 400 rows, looks like an identifier"
    assert set(roles.missing) == {"Age", "Home"} and all(v > 0 for v in roles.missing.values())
    line = roles.summary()
    assert line.startswith("2 numeric, 4 categorical (Home, Married, Records, Job), 2 left out (Id: ")
    assert "data.features=[...] to choose" in line
    names = ds.feature_names
    assert names[:3] == ("Age", "Age=missing", "Income")  # a gap becomes an indicator feature
    assert {"Home=own", "Home=missing", "Records=True", "Records=False", "Married=yes"} <= set(names)
    assert "Job=student" in names and not any(n.startswith(("Id", "Name")) for n in names)
    assert ds.X_train.dtype == np.float32 and np.isfinite(ds.X_train).all()
    assert ds.n_features == len(names) == ds.columns.n_features


def test_features_and_drop_choose_columns_and_max_categories_groups_rare_ones(loans_csv: Path) -> None:
    chosen = load_dataset("csv", path=loans_csv, target="Status", features=["Name", "Income"])
    assert chosen.roles.numeric == ["Income"] and chosen.roles.categorical == ["Name"]  # chosen: kept
    dropped = load_dataset("csv", path=loans_csv, target="Status", drop=["Job", "Married"])
    assert dropped.roles.categorical == ["Home", "Records"] and dropped.roles.left_out["Job"] == "data.drop"
    few = load_dataset("csv", path=loans_csv, target="Status", max_categories=2)
    jobs = [n for n in few.feature_names if n.startswith("Job=")]
    assert jobs == ["Job=fixed", "Job=freelance", "Job=other"]  # the 2 most frequent, the rest grouped
    mode = load_dataset("csv", path=loans_csv, target="Status", impute_categorical="most_frequent")
    assert "Home=missing" not in mode.feature_names


def test_rows_without_a_target_are_dropped_and_counted(tmp_path: Path) -> None:
    rows = [f"{i},{i % 3},{'' if i % 10 == 0 else 'ab'[i % 2]}" for i in range(1, 101)]
    p = write(tmp_path / "t.csv", "x,z,y\n" + "\n".join(rows) + "\n")
    ds = load_dataset("csv", path=p, target="y")
    assert ds.roles.dropped_target_rows == 10 and sum(ds.sizes.values()) == 90
    assert "10 rows without a target dropped" in ds.roles.summary()


def _split_rows(path: Path, target: str) -> tuple[np.ndarray, np.ndarray]:
    """The file's row numbers (from its Id column) of the training and test split."""
    import pandas as pd

    ds = load_dataset("csv", path=path, target=target, features=["Id"])
    ids = pd.read_csv(path)["Id"].to_numpy()
    return np.isin(ids, ds.X_train[:, 0]), np.isin(ids, ds.X_test[:, 0])


def test_encoding_is_fitted_on_the_training_rows_only(tmp_path: Path) -> None:
    """A category seen only in test rows sets no feature; a column whose gaps are all in test
    rows gets no indicator and is filled with the training rows' median."""
    rng = np.random.default_rng(0)
    n = 200
    lines = ["Id,colour,size,y"] + [
        f"{i},{'red' if i % 2 else 'blue'},{rng.integers(1, 100)},{'ab'[i % 2]}" for i in range(1, n + 1)
    ]
    path = write(tmp_path / "t.csv", "\n".join(lines) + "\n")
    train, test = _split_rows(path, "y")
    test_ids = np.flatnonzero(test)[:4]
    for k in test_ids[:2]:  # a colour only test rows have
        lines[k + 1] = lines[k + 1].replace(",red,", ",violet,").replace(",blue,", ",violet,")
    for k in test_ids[2:]:  # size missing only in test rows
        parts = lines[k + 1].split(",")
        lines[k + 1] = ",".join([parts[0], parts[1], "", parts[3]])
    write(path, "\n".join(lines) + "\n")
    ds = load_dataset("csv", path=path, target="y", features=["colour", "size"])
    assert ds.feature_names == ("size", "colour=blue", "colour=red")  # no violet, no size=missing
    assert ds.roles.missing == {"size": 2}  # counted on the whole table
    import pandas as pd

    sizes = pd.read_csv(path)["size"].to_numpy()
    median = float(np.median(sizes[train]))
    assert ds.columns.numeric[0].fill == median
    X_test = ds.X_test
    assert (X_test[:, 1:].sum(axis=1) == 0).sum() == 2  # the violet rows: no colour feature set
    assert (X_test[:, 0] == np.float32(median)).sum() >= 2


def test_semicolon_file_is_sniffed(tmp_path: Path) -> None:
    rows = [f"{i % 11};{i % 7};{(i * 3) % 5};{i % 4};{i % 2}" for i in range(60)]
    p = write(tmp_path / "semi.csv", "a;b;c;d;label\n" + "\n".join(rows) + "\n")
    ds = load_dataset("csv", path=p, target="label")
    assert ds.roles.numeric == ["a", "b", "c", "d"] and ds.identity["options"]["delimiter"] == ";"
    with pytest.raises(
        ValueError, match=r"columns: \['a;b;c;d;label'\] \(one column read with separator ','"
    ):
        load_dataset("csv", path=p, target="label", sep=",")


def test_spaces_after_the_separator_are_not_part_of_the_values(tmp_path: Path) -> None:
    """``a, b`` files: numbers, missing markers and categories read as without the spaces
    (spaced and unspaced files give the same features)."""
    rows = [f"{i % 11}, {'NA' if i % 9 == 0 else i % 7}, {'ab'[i % 2]}, {i % 2}" for i in range(60)]
    spaced = write(tmp_path / "spaced.csv", "a, b, c, label\n" + "\n".join(rows) + "\n")
    plain = write(
        tmp_path / "plain.csv", "a,b,c,label\n" + "\n".join(r.replace(", ", ",") for r in rows) + "\n"
    )
    ds, ref = (load_dataset("csv", path=p, target="label") for p in (spaced, plain))
    assert ds.roles.numeric == ["a", "b"] and ds.roles.categorical == ["c"] and ds.roles.missing == {"b": 7}
    assert ds.feature_names == ref.feature_names == ("a", "b", "b=missing", "c=a", "c=b")
    np.testing.assert_array_equal(ds.X_train, ref.X_train)


def test_bom_and_other_encodings(tmp_path: Path) -> None:
    body = "".join(f"{i % 9},{['Zürich', 'Genève', 'Bern'][i % 3]},{i % 2}\n" for i in range(60))
    bom = write(tmp_path / "bom.csv", "\ufeffa,city,label\n" + body)
    assert load_dataset("csv", path=bom, target="label").roles.numeric == ["a"]  # not '\ufeffa'
    latin = write(tmp_path / "latin.csv", "a,city,label\n" + body, encoding="latin-1")
    ds = load_dataset("csv", path=latin, target="label", encoding="latin-1")
    assert "city=Zürich" in ds.feature_names


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        (
            "name,label\n" + "".join(f"p{i},{i % 2}\n" for i in range(80)),
            {},
            "no usable feature column left besides the target 'label' (name: 80 distinct text values in 80 rows, looks like an identifier); choose columns with data.features=[...]",
        ),
        ("a,b,label\n1,2,\n3,4,\n5,6,\n", {}, "target column 'label' has no values (all 3 rows missing)"),
        ("a,b,label\n1,2,0\n3,4,1,9\n5,6,0\n", {}, "line 3 has 4 fields, the header has 3"),
        (
            "a,b,label\n1,2,0\n",
            {"target": "Label"},
            "target column 'Label' not found; columns: ['a', 'b', 'label']",
        ),
        ("a,a,label\n1,2,0\n", {}, "duplicate column names ['a'] in the header"),
        ("", {}, "the file is empty"),
        ("a,b,label\n1,2,0\n", {"features": ["c"]}, "data.features names ['c'], not columns of the file"),
    ],
)
def test_bad_tables_are_refused_with_one_clear_line(
    tmp_path: Path, text: str, kwargs: dict, message: str
) -> None:
    p = write(tmp_path / "bad.csv", text)
    kw = {"target": "label", **kwargs}
    with pytest.raises(ValueError) as info:
        load_dataset("csv", path=p, **kw)
    assert message in str(info.value)


def test_a_file_not_in_utf8_names_the_line_and_the_setting(tmp_path: Path) -> None:
    p = tmp_path / "latin.csv"
    p.write_bytes(b"a,city,label\n1,Bern,0\n2,Z\xfcrich,1\n")
    with pytest.raises(
        ValueError, match=r"latin.csv: not valid UTF-8 text \(byte b'\\xfc' on line 3\); set data.encoding"
    ):
        load_dataset("csv", path=p, target="label")


def test_a_big_file_says_what_is_loading(loans_csv: Path, compose_cfg, monkeypatch, capsys) -> None:
    import nnexp.train.datasets as datasets

    monkeypatch.setattr(datasets, "ANNOUNCE_BYTES", loans_csv.stat().st_size)
    cfg = compose_cfg("data=csv", f"data.path={loans_csv}", "data.target=Status")
    datasets.load_config_dataset(cfg)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"loading {loans_csv} (0 MB) ..." and out[1].startswith("loaded and split in ")
    monkeypatch.setattr(datasets, "ANNOUNCE_BYTES", loans_csv.stat().st_size + 1)
    datasets.load_config_dataset(cfg)
    assert capsys.readouterr().out == ""
