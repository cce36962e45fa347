"""Which tensors int8/fp8 quantizes: the activation inputs of Conv, ConvTranspose, Gemm and MatMul."""
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
