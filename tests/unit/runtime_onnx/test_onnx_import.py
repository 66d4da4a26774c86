"""The ONNX converter: torch.onnx.export's graphs of an MLP, a CNN with batch norm and a
residual add, and a tiny transformer import, give torch's outputs, and train on the job's
numerics (fp32 and the emulated cfp8); bad files are refused naming the node and op type."""

from __future__ import annotations

import onnx
import pytest
import torch
from onnx import helper

from dojo_runtime.config import TrainConfig
from dojo_runtime.onnx_import import (
    OnnxImportError,
    OnnxModule,
    check,
    parse,
    summarize,
)
from dojo_runtime.ops import get_numerics
from dojo_runtime.training import Trainer
from tests.support.onnx_models import MLP, ResidualCNN, TinyTransformer, custom, export


def _outputs_match(net: torch.nn.Module, x: torch.Tensor, *, training: bool) -> None:
    torch.manual_seed(0)
    data = export(net, x, training=training)
    imported = OnnxModule(get_numerics("fp32"), parse(data))
    net.train(training)
    with torch.no_grad():
        want = net(x)
        got = imported(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_an_mlp_imports_with_torchs_outputs() -> None:
    torch.manual_seed(0)
    _outputs_match(MLP(), torch.randn(5, 1, 8, 8), training=False)


def test_a_cnn_with_batch_norm_and_a_residual_add_keeps_its_batch_norm() -> None:
    torch.manual_seed(0)
    net, x = ResidualCNN(), torch.randn(4, 1, 8, 8)
    graph = parse(export(net, x, training=True))
    ops = graph.op_counts()
    assert ops["BatchNormalization"] == 3 and ops["Conv"] == 3 and ops["Add"] >= 1
    _outputs_match(net, x, training=True)  # batch statistics, as the catalog trains


def test_a_tiny_transformer_imports_with_torchs_outputs() -> None:
    torch.manual_seed(0)
    net, idx = TinyTransformer(), torch.randint(0, 256, (3, 16))
    graph = parse(export(net, idx))
    assert {"Gather", "MatMul", "Softmax", "LayerNormalization", "Erf"} <= set(graph.op_counts())
    _outputs_match(net, idx, training=False)


def test_the_summary_names_inputs_outputs_op_counts_and_parameters() -> None:
    net = MLP()
    summary = summarize(parse(export(net, torch.randn(2, 1, 8, 8))))
    assert [v.name for v in summary.inputs] == ["x"]
    assert summary.inputs[0].shape == ("batch", 1, 8, 8)
    assert [v.name for v in summary.outputs] == ["logits"]
    assert summary.parameters == sum(p.numel() for p in net.parameters())
    assert summary.op_counts["Gemm"] == 2


@pytest.mark.parametrize("precision", ["fp32", "cfp8"])
def test_an_imported_cnn_trains_on_digits(precision: str) -> None:
    torch.manual_seed(0)
    model = custom(export(ResidualCNN(), torch.randn(2, 1, 8, 8)))
    config = TrainConfig(
        "onnx",
        dataset="digits",
        custom_model=model,
        precision=precision,
        batch_size=32,
        learning_rate=1e-2,
    )
    trainer = Trainer(config)
    state = trainer.initial_state()
    before = {k: v.detach().clone() for k, v in state.model.state_dict().items()}
    losses: list[float] = []
    state = trainer.train(state, 30, on_step=lambda m: losses.append(m.loss))
    assert len(losses) == 30 and all(loss == loss for loss in losses)  # no NaN
    assert sum(losses[-5:]) < sum(losses[:5])
    changed = [k for k, v in state.model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed  # the initializers are parameters
    assert trainer.step_seconds > 0  # costed by the device model


def test_an_imported_transformer_trains_as_a_language_model_in_cfp8() -> None:
    torch.manual_seed(0)
    model = custom(export(TinyTransformer(), torch.randint(0, 256, (2, 16))), "language_model")
    trainer = Trainer(
        TrainConfig("onnx", dataset="synthetic-text", custom_model=model, precision="cfp8")
    )
    state = trainer.train(trainer.initial_state(), 3)
    assert state.step == 3 and trainer.evaluate(state)["loss"] > 0


def test_restore_resumes_bit_identically() -> None:
    model = custom(export(MLP(), torch.randn(2, 1, 8, 8)))
    trainer = Trainer(TrainConfig("onnx", dataset="digits", custom_model=model, precision="cfp8"))
    straight = trainer.train(trainer.initial_state(), 6)
    half = trainer.train(trainer.initial_state(), 3)
    resumed = trainer.train(trainer.restore(trainer.snapshot(half)), 6)
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_malformed_bytes_are_refused() -> None:
    with pytest.raises(OnnxImportError, match="not an ONNX model"):
        parse(b"\x00\x01 certainly not protobuf \xff" * 10)


def _graph_with(node: onnx.NodeProto) -> bytes:
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 4])
    graph = helper.make_graph([node], "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_an_unsupported_operator_names_the_node_and_its_op_type() -> None:
    graph = parse(_graph_with(helper.make_node("Hardmax", ["x"], ["y"], name="odd_one")))
    with pytest.raises(OnnxImportError, match=r"node 'odd_one' \(Hardmax\)"):
        check(graph)


def test_a_node_reading_an_unknown_value_is_named() -> None:
    data = _graph_with(helper.make_node("Relu", ["nowhere"], ["y"], name="r"))
    with pytest.raises(OnnxImportError, match=r"node 'r' \(Relu\): input 'nowhere'"):
        parse(data)


def test_a_failing_node_is_named_with_its_error() -> None:
    w = helper.make_tensor("w", onnx.TensorProto.FLOAT, [3, 5], [0.0] * 15)
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 5])
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")
    model = helper.make_model(
        helper.make_graph([node], "g", [x], [y], [w]),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    with pytest.raises(OnnxImportError, match=r"node 'mm' \(MatMul\)"):
        check(parse(model.SerializeToString()))


def test_external_data_is_refused_not_read() -> None:
    w = helper.make_tensor("w", onnx.TensorProto.FLOAT, [4, 4], [0.0] * 16)
    w.ClearField("float_data")
    w.data_location = onnx.TensorProto.EXTERNAL
    w.external_data.add(key="location", value="/etc/passwd")
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 4])
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    model = helper.make_model(helper.make_graph([node], "g", [x], [y], [w]))
    with pytest.raises(OnnxImportError, match="initializer 'w': external data"):
        parse(model.SerializeToString())


def test_a_model_that_does_not_fit_the_data_names_the_field() -> None:
    model = custom(export(MLP(features=16), torch.randn(2, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"model.onnx: input 'x' is \['batch', 1, 4, 4\]"):
        Trainer(TrainConfig("onnx", dataset="digits", custom_model=model))
    fixed = export(MLP(), torch.randn(2, 1, 8, 8))
    lm = custom(fixed, "language_model")
    with pytest.raises(ValueError, match="model.task: language_model does not train on digits"):
        Trainer(TrainConfig("onnx", dataset="digits", custom_model=lm))
