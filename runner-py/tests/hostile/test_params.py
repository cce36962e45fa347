"""Issue 13 item 9: params_json a client sends is checked before any work: a value of the wrong JSON
type is INVALID_ARGUMENT naming the key; JSON nested 100,000 deep, NaN, Infinity and a 5,000-digit
integer are INVALID_ARGUMENT too, not RecursionError or ValueError."""
from __future__ import annotations

import grpc
import pytest

from trtpipe_runner.gen import runner_pb2 as pb

from ..conftest import EXAMPLES, stage_params
from .conftest import refusal


def run_raw(client, stage: str, params_json: str, inputs=None):
    req = pb.RunStageRequest(stage=stage, cell="hostile", inputs=inputs or {}, params_json=params_json)
    return list(client.stub.RunStage(req, metadata=client.metadata))


def reference_params(**over) -> str:
    import json

    return json.dumps({**stage_params.reference(), "eval_data": {}, **over})


DEEP = "[" * 100_000 + "]" * 100_000
# params_json -> (code, message)
CASES = {
    "an array": ("[1, 2]", ("BAD_PARAM", "params: must be an object, got list")),
    "a string": ('"batch"', ("BAD_PARAM", "params: must be an object, got str")),
    "null": ("null", ("BAD_PARAM", "params: must be an object, got NoneType")),
    "batch as a string": (reference_params(batch="32"), ("BAD_PARAM", "params.batch: must be an integer, got '32'")),
    "batch as a float": (reference_params(batch=32.5), ("BAD_PARAM", "params.batch: must be an integer, got 32.5")),
    "batch as true": (reference_params(batch=True), ("BAD_PARAM", "params.batch: must be an integer, got True")),
    "batch of 0": (reference_params(batch=0), ("BAD_PARAM", "params.batch: must be >= 1, got 0")),
    "eval_data as a list": (reference_params(eval_data=[]), ("BAD_PARAM", "params.eval_data: must be an object, got list")),
    "labels as a number": (reference_params(eval_data={"labels": 3}),
                           ("BAD_PARAM", "params.eval_data.labels: must be a string, got 3")),
    "unknown key": (reference_params(rm_rf="/"), ("PARAM_UNKNOWN", "params: unknown key 'rm_rf' (known: batch, "
                                                  "eval_data, calib_data, input_shapes, threads, device)")),
    "nested 100000 deep": (DEEP, ("PROTOCOL", "params_json nests too deeply (at most 32 levels)")),
    "object nested 40 deep": ('{"a":' * 40 + "1" + "}" * 40, ("PROTOCOL", "params_json nests too deeply (at most 32 levels)")),
    "NaN": ('{"batch": NaN, "eval_data": {}}', ("PROTOCOL", "params_json: NaN is not a JSON number (send a finite number)")),
    "Infinity": ('{"batch": 1, "eval_data": {"samples": Infinity}}',
                 ("PROTOCOL", "params_json: Infinity is not a JSON number (send a finite number)")),
    "not JSON": ("{batch: 1}", ("PROTOCOL", "params_json is not JSON: Expecting property name enclosed in double quotes: "
                                            "line 1 column 2 (char 1)")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_params_json_is_checked_before_any_work(runner, case):
    params_json, (code, message) = CASES[case]
    status, text, detail = refusal(lambda: run_raw(runner.client, "reference", params_json))
    assert (status, detail.kind, detail.code, text) == (grpc.StatusCode.INVALID_ARGUMENT, pb.ERROR_KIND_USER, code, message)


def test_an_integer_of_5000_digits_is_a_user_error(runner):
    status, text, detail = refusal(lambda: run_raw(runner.client, "reference", '{"batch": 1' + "0" * 5000 + "}"))
    assert (status, detail.kind, detail.code) == (grpc.StatusCode.INVALID_ARGUMENT, pb.ERROR_KIND_USER, "PROTOCOL")
    assert text.startswith("params_json holds a number Python cannot read (Exceeds the limit (4300 digits)")


def test_build_params_of_the_wrong_type_name_the_key(runner):
    import json

    model = runner.client.put_file(EXAMPLES / "digits" / "model.onnx")
    params = {**stage_params.build(backend="tensorrt"), "input_shapes": {"input": {"min": "1x1x8x8"}}}
    status, text, detail = refusal(lambda: run_raw(runner.client, "build", json.dumps(params), {"model": model}))
    assert (status, detail.code) == (grpc.StatusCode.INVALID_ARGUMENT, "BAD_PARAM")
    assert text == "params.input_shapes.input.min: must be a list, got '1x1x8x8'"
