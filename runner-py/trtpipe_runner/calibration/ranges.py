"""Which tensors int8/fp8 quantizes: the activation inputs of Conv, ConvTranspose, Gemm and MatMul,
and the residual input of an Add that a convolution's epilogue can absorb.

Placement follows NVIDIA's Q/DQ layer-placement recommendations (TensorRT developer guide,
"Explicit quantization"; docs/decisions.md): quantize all inputs of weighted layers, quantize the
residual input of an element-wise Add that follows a convolution (TensorRT then fuses the Add into
the convolution, which reads the residual in int8), do not quantize layer outputs."""
from __future__ import annotations

# The ops whose inputs trtpipe quantizes (TensorRT fuses Q/DQ into these).
QUANTIZABLE_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def is_activation_matmul(node, initializers) -> bool:
    """A MatMul of two activations (attention's Q.K^T and probabilities.V): no weight operand."""
    return node.op_type == "MatMul" and all(t not in initializers for t in node.input[:2])


def quantized_inputs(model) -> list[str]:
    """Activation tensors feeding quantizable nodes (initializers excluded)."""
    inits = {i.name for i in model.graph.initializer}
    names: list[str] = []
    for node in model.graph.node:
        if node.op_type not in QUANTIZABLE_OPS:
            continue
        slots = (0, 1) if node.op_type == "MatMul" else (0,)
        for slot in slots:
            if slot < len(node.input) and node.input[slot] and node.input[slot] not in inits:
                if node.input[slot] not in names:
                    names.append(node.input[slot])
    return names


# Ops whose output an Add can be fused into (the convolution epilogue), and single-input ops
# TensorRT folds into them first (a BatchNormalization an exporter did not fold).
FUSING_PRODUCERS = ("Conv", "ConvTranspose")
FOLDED_INTO_PRODUCER = ("BatchNormalization",)


def residual_slot(node, weighted_producer) -> int | None:
    """The input of an Add to quantize so that TensorRT fuses the Add into a convolution, or None.

    Args:
        node: any node; only an Add of two activations qualifies.
        weighted_producer: tensor name -> True when a (quantized) convolution produces it.

    Returns:
        The slot of the residual branch: the input not produced by a convolution; with both
        produced by one (a ResNet downsampling block), input 1 (`out + identity`, the skip
        branch of torchvision's ResNet and NVIDIA's pytorch-quantization examples); None when
        no convolution feeds it (a transformer's residual Add: its stream is not quantized).
    """
    if node.op_type != "Add" or len(node.input) != 2 or not all(node.input):
        return None
    conv = [weighted_producer(t) for t in node.input]
    if conv == [True, False]:
        return 1
    if conv == [False, True]:
        return 0
    return 1 if conv == [True, True] else None


def conv_outputs(model) -> set[str]:
    """Tensors a Conv/ConvTranspose writes, directly or through a BatchNormalization."""
    out: set[str] = set()
    for node in model.graph.node:  # topological order: a BN's input is classified before it
        if node.op_type in FUSING_PRODUCERS or (node.op_type in FOLDED_INTO_PRODUCER and node.input[0] in out):
            out.update(node.output[:1])
    return out


def residual_inputs(model) -> list[str]:
    """Residual tensors of Adds that follow a convolution (calibrated beside quantized_inputs)."""
    convs = conv_outputs(model)
    inits = {i.name for i in model.graph.initializer}
    names: list[str] = []
    for node in model.graph.node:
        slot = residual_slot(node, convs.__contains__)
        if slot is not None and node.input[slot] not in inits and node.input[slot] not in names:
            names.append(node.input[slot])
    return names
