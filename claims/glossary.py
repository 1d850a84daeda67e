"""What each symbol a derivation writes without binding it to data is, in words, for the notation page.

A symbol bound to hwdb takes its meaning from the field and the claim's label, and a constant
carries its reason. Two kinds of symbol have neither: a quantity that a derivation step defines
(``B^* = …``), whose step sentence is written to be read in sequence ("Solved for the batch",
"and the corpus") and makes no sense alone in a table, and a variable of the argument that no step
defines (the batch ``B``, the micro-batches ``m``). This module says what each one *is*, with its
unit.

Keys are the symbol's name as the catalogue writes it (``"B^*"``, ``"T_compute,all"``,
``"D_inf/D_pre"``). A plain name applies to every claim that uses the symbol unbound; where claims
give one name different meanings, a key ``(name, claim ID)`` holds the meaning in that claim and
overrides the plain name, so a new claim that reuses a letter for something else needs one.
``tests/test_notation.py`` fails when a claim uses a symbol with no entry here, when an entry reads
as a fragment, when its unit disagrees with what the derivation computes, and when an entry names
a symbol no claim uses that way any more.
"""

from __future__ import annotations

from typing import NamedTuple


class Term(NamedTuple):
    """A quantity's definition and its unit (an hwdb unit string; "1" for a pure number).

    The definition is a table cell: it opens on a capital and has no full stop; a symbol in it is written
    as LaTeX between dollar signs (``$m$ micro-batches``), as the notation page renders it.
    """

    meaning: str
    unit: str


GLOSSARY: dict[str | tuple[str, str], Term] = {
    "B": Term("Batch: the tokens one step processes, one for each sequence it decodes", "token"),
    ("B", "batch.unbatched-penalty"): Term(
        "Batch: the tokens one step processes, one per sequence, as a plain count (it appears as an exponent)", "1"
    ),
    ("B", "serving.second-hbm-pass"): Term("Batch in sequences: the sequences one decode step advances", "1"),
    "B^*": Term(
        "Balanced batch: the batch, in tokens per step, at which a step's compute time equals the time it "
        "takes to read the weights from HBM",
        "token",
    ),
    "B^*_KV": Term(
        "Balanced batch with the KV cache counted: the batch at which all of a step's compute, attention's "
        "included, equals all its memory traffic, weights and KV cache, with every expert touched",
        "token",
    ),
    "B_g": Term(
        "Balanced global batch with $m$ micro-batches: the batch at which a step's compute equals $m$ reads of "
        "the stage's weights",
        "token",
    ),
    "b": Term("Bytes per weight, in the format the weights are held in", "byte/parameter"),
    "B_global": Term("Global batch: the tokens of one training step, over all its micro-batches", "token"),
    "b_micro": Term("Sequences per micro-batch, the batch being $P$ micro-batches", "1"),
    "b_w": Term("Bytes per weight, in the format the model is served in", "byte/parameter"),
    "c": Term("FLOP per parameter per token: one multiply-add per weight", "flop/(parameter*token)"),
    "C": Term(
        "Tokens one query reads in the two-level block scheme: one summary per block of $s$ tokens, then the $m$ "
        "selected blocks in full",
        "token",
    ),
    "C^*": Term("Tokens one query reads in the two-level block scheme at its best block size", "token"),
    "C_2S": Term("Compute per token at twice the sparsity, at the same total size", "flop/token"),
    "C_att": Term(
        "Attention FLOP per new token over a context of $L$ cached tokens: $A$ per cached token", "flop/token"
    ),
    "C_token": Term(
        "Compute per token of a model of fixed total size at sparsity $S$ (total over active)", "flop/token"
    ),
    "C_w": Term("FLOP per new token in the weights' matrix multiplies: $c$ per active parameter", "flop/token"),
    "D": Term("Largest pre-training corpus a published model reports", "token"),
    "D_hop": Term(
        "Bytes one pipeline hop carries per decode step: one hidden state per sequence of the balanced batch",
        "byte",
    ),
    "D_inf": Term(
        "Tokens one model serves over its deployment: the lab's volume over the models it serves at once", "token"
    ),
    "D_inf/D_pre": Term(
        "Inference-to-pre-training ratio: tokens a model serves for each token it was pre-trained on", "1"
    ),
    "D_lab": Term("Tokens a lab serves over a deployment life: its reported rate times the life", "token"),
    "D_opt": Term(
        "Compute-optimal corpus at the assumed model's loss: the training tokens that reach it for the least "
        "compute, a plain number as the loss fit counts them",
        "1",
    ),
    "D_pre/D_RL": Term(
        "Pre-training-to-RL ratio: pre-training tokens per RL token when the two phases cost the same", "1"
    ),
    "Delta": Term("Loss gap: the fit's loss of the assumed model and corpus above the fit's irreducible floor", "1"),
    "F_8": Term(
        "FP8 FLOP/s taken at the rate that keeps FLOP/s per byte of weight equal to BF16's (twice BF16's, "
        "as on a GB200)",
        "flop/s",
    ),
    ("E", "pipeline.kv-term-cancels"): Term("GPUs per pipeline stage", "1"),
    ("e", "moe.experts-per-gpu"): Term("Routed experts per GPU when the experts are spread evenly over $G$ GPUs", "1"),
    "F": Term("Dense FLOP/s of the chip", "flop/s"),
    "f": Term(
        "Share of token-expert trips that leave the token's rack when the experts are spread over $R$ racks", "1"
    ),
    "f_index": Term(
        "Indexer FLOP per new token, per past token and layer: a multiply-add per index head and key width for "
        "the scores, one per head for their weighted sum",
        "flop/token**2",
    ),
    ("g", "moe.hundredfold-params"): Term(
        "Dense-equivalent gain modelled as a power of the parameter multiple: $m^{x}$", "1"
    ),
    ("g", "rack.per-gpu-bandwidth-growth"): Term("Growth of HBM bandwidth per GPU from an H100 to a GB200", "1"),
    ("g", "rack.aggregate-bandwidth-growth"): Term(
        "Growth of a scale-up domain's total HBM bandwidth from an HGX H100 to a GB200 NVL72", "1"
    ),
    ("g", "context.window-growth"): Term("Growth of the context window: Claude 2.1's over GPT-4's at launch", "1"),
    "g_0": Term(
        "Dense-equivalent gain: the size of a dense model of equal quality over the routed model's active size", "1"
    ),
    "g_1": Term("Dense-equivalent gain at the lecture's larger parameter multiple $m_{1}$", "1"),
    "g_R": Term(
        "Limit of DSA's gain in bytes over dense attention as the context grows: the latent's bytes per token "
        "over the indexer key's",
        "1",
    ),
    ("G", "rooflines.ratio-stable"): Term(
        "Growth of the hardware ratio (FLOP/s per byte/s of HBM bandwidth) from the A100 to the B200", "1"
    ),
    ("G", "serving.replica-throughput"): Term(
        "GPUs in one replica: the fewest whose HBM, less the reserve $r$, holds the weights and the balanced "
        "batch's KV cache",
        "1",
    ),
    ("G", "network.scale-out-gap"): Term(
        "Scale-out gap: scale-up bandwidth per chip over scale-out bandwidth per chip", "1"
    ),
    ("G", "context.hundred-million-kv"): Term(
        "H100s' worth of HBM that one sequence's KV cache fills at that context", "1"
    ),
    ("G", "attention.sparse-sqrt-gain"): Term(
        "Gain of the two-level block scheme over dense attention: the $L$ tokens dense attention reads per query, "
        "divided by the $C^{*}$ tokens the scheme reads",
        "1",
    ),
    "H": Term(
        "Bytes each GPU of a replica holds: the always-read weights, its share of the routed experts and its "
        "share of the batch's KV cache",
        "byte",
    ),
    ("h", "rack.nvswitch-hops"): Term(
        "Hops between any two GPUs of the NVSwitch fabric: GPU to switch, then switch to GPU", "1"
    ),
    "I_att": Term(
        "Attention's arithmetic intensity: FLOP per byte of KV cache read, to set against the chip's FLOP per "
        "byte of HBM",
        "flop/byte",
    ),
    "idle": Term("Idle fraction of a pipeline stage: the share of a step it spends waiting for the other stages", "1"),
    "kappa": Term("KV cache per token of context: the bytes one cached token takes, all layers together", "byte/token"),
    ("kappa", "kv.bytes-per-token"): Term(
        "Break-even KV cache per token: the bytes per token of context at which reading one sequence's KV cache "
        "takes as long as its compute per emitted token",
        "byte/token",
    ),
    "kappa_index": Term("Bytes the DSA indexer caches per token and layer: one FP8 key with its scales", "byte/token"),
    "kappa_latent": Term(
        "Bytes the MLA cache holds per token and layer in DSA's layout: the latent in FP8 with its scales and "
        "the rotary key in BF16",
        "byte/token",
    ),
    "L": Term("Context: the tokens each sequence has cached", "token"),
    "L_max": Term(
        "Longest context at which a balanced batch exists: beyond it one sequence's KV read outlasts its "
        "compute, attention's included, and no batch balances",
        "token",
    ),
    "L_x": Term("Crossover context: where attention's FLOP per new token equal the weights'", "token"),
    ("m", "moe.hundredfold-params"): Term("Parameter multiple: total parameters over active ones", "1"),
    ("m", "pipeline.microbatch-weight-reloads"): Term("Micro-batches per training step", "1"),
    ("m", "attention.sparse-sqrt-gain"): Term("Blocks selected per query in the two-level block scheme", "1"),
    "M_GPU": Term(
        "Memory per GPU with $P$ pipeline stages of $E$ GPUs and a batch of $P$ micro-batches: weights and KV cache",
        "byte",
    ),
    "M_KV": Term("KV cache per GPU: the KV term of the memory per GPU, which $P$ cancels from", "byte"),
    "M_reversible": Term(
        "Activation bytes kept per token when each layer's input is recomputed backwards from the last layer's "
        "output: one layer's worth",
        "byte",
    ),
    "M_stored": Term("Activation bytes kept per token when every layer's input is stored", "byte"),
    "M_total": Term("Total HBM of a scale-up domain: chips times HBM per chip", "byte"),
    "M_w": Term("Bytes of a model's weights: parameters times bytes per weight", "byte"),
    ("M_w", "pipeline.kv-term-cancels"): Term(
        "Weight bytes per GPU: the weight term of the memory per GPU, which falls as $P$ grows", "byte"
    ),
    "N": Term("Parameters of the model", "parameter"),
    "N_active": Term("Active parameters: the parameters each token's forward pass uses", "parameter"),
    "n_dies": Term("GPU dies in NVIDIA's largest announced Rubin domain: packages times dies per package", "1"),
    "N_max": Term("Most parameters whose weights fit in a domain's HBM: HBM over bytes per weight", "parameter"),
    "N_opt": Term(
        "Compute-optimal model size at the assumed model's loss: the parameters that reach it for the least "
        "compute, a plain number as the loss fit counts them",
        "1",
    ),
    "N_recovered": Term("Blocks that came back exactly after a Feistel encryption and decryption", "1"),
    "N_total": Term("Total parameters of the model, every expert included", "parameter"),
    "N_tested": Term("Blocks put through the Feistel round trip: every possible block under each random key", "1"),
    "P": Term("Pipeline stages, each holding a consecutive share of the layers", "1"),
    ("P", "batch.unbatched-penalty"): Term(
        "Penalty for not batching: time per token at batch one over time per token at the large-batch floor", "1"
    ),
    "p_block": Term(
        "Exponent of the block scheme's least cost in the context: $\\mathrm{d}\\ln C^{*}/\\mathrm{d}\\ln L$", "1"
    ),
    "p_compute": Term(
        "Elasticity of a step's compute time to the batch: $\\mathrm{d}\\ln T_{compute}/\\mathrm{d}\\ln B$", "1"
    ),
    "p_DSA": Term(
        "Exponent of DSA's bytes per query in the context, past the top-k: the indexer's share of the traffic", "1"
    ),
    "p_token": Term(
        "Probability that a token sends at least one of its $k$ expert trips out of its rack, with $R$ racks", "1"
    ),
    "p_weights": Term(
        "Elasticity of a step's weight-fetch time to the batch: $\\mathrm{d}\\ln T_{weights}/\\mathrm{d}\\ln B$", "1"
    ),
    "PP": Term(
        "Pipeline degree of a deployment unit: its GPUs over those that one attention replica's tensor split "
        "and the data-parallel replicas use",
        "1",
    ),
    "q": Term(
        "Cross-rack condition: scale-out over scale-up bandwidth, times twice the activated experts, times the "
        "layers per stage; one or more and a stage boundary between racks costs little",
        "1",
    ),
    "Q_dense": Term("Attention FLOP per query under dense attention: $A$ per cached token, all layers", "flop"),
    "Q_DSA": Term(
        "FLOP per query under DSA: the indexer over every cached token, attention over the selected ones", "flop"
    ),
    ("R", "rooflines.hardware-ratio"): Term(
        "Hardware ratio: the balanced batch of a dense model, FLOP/s times bytes per weight over FLOP per weight "
        "per token times HBM bandwidth",
        "token",
    ),
    ("R", "serving.second-hbm-pass"): Term(
        "Bytes a decode step reads: every weight once and each sequence's KV cache", "byte"
    ),
    ("R", "pricing.decode-premium"): Term("Decode premium: the price of an output token over an input token's", "1"),
    ("R", "reversible.feistel-invertible"): Term("Share of the tested blocks recovered exactly", "percent"),
    ("R", "network.half-leaves-rack"): Term("Racks the experts of a layer are spread over evenly", "1"),
    "R_1": Term(
        "Bytes of weights a step reads at batch one: the always-read weights and the token's own experts", "byte"
    ),
    "R_B": Term(
        "Bytes of weights a step reads at batch $B$: the always-read weights and the experts its tokens touch", "byte"
    ),
    "R_dense": Term("Bytes one query reads under dense attention: every cached latent, in every layer", "byte"),
    "R_DSA": Term(
        "Bytes one query reads under DSA: every cached token's indexer key, then the latents of the tokens it selects",
        "byte",
    ),
    "R_replica": Term("Throughput of one replica: the balanced batch over the step time", "token/s"),
    ("r", "serving.second-hbm-pass"): Term("Passes over all of HBM that one step of length $T_{s}$ allows", "1"),
    ("r", "moe.router-fraction"): Term("Routed experts per expert a token chooses", "1"),
    ("r", "training.overtraining"): Term(
        "Compute-optimal tokens per parameter at the assumed model's loss: $D_{opt}$ over $N_{opt}$", "1"
    ),
    "r_EP": Term(
        "Expert-parallel degree over the GPUs of one NVLink domain: how many domains one expert-parallel group spans",
        "1",
    ),
    ("s", "serving.gemini-share"): Term("One replica's throughput as a share of Google's reported token rate", "1"),
    ("s", "attention.sparse-sqrt-gain"): Term("Block size of the two-level scheme at its least cost", "token"),
    ("S", "moe.sparsity-halves-compute"): Term("Sparsity: total parameters over active parameters", "1"),
    ("S", "reversible.activation-saving"): Term("Fraction of activation memory a reversible stack saves", "1"),
    "t": Term(
        "Time per token at batch $B$: the step time, the longer of weight fetch and compute, over the batch", "s/token"
    ),
    "t_1": Term(
        "Time per token at batch one, at the served context: the weight read, and the sequence's own KV read "
        "and attention",
        "s/token",
    ),
    "t_∞": Term(
        "Time per token at a large batch: the floor set by the weights' arithmetic and each sequence's attention",
        "s/token",
    ),
    "T_1NIC": Term(
        "Time for one pipeline hop through a single NIC: its bytes over one NIC, plus the message latency", "s"
    ),
    "T_compute": Term("Compute time of a step: the batch's FLOP over the chip's FLOP/s", "s"),
    ("T_compute", "kv.bytes-per-token"): Term("Compute time per emitted token of one sequence", "s/token"),
    "T_compute,all": Term(
        "All of a step's compute time on one GPU: the weights' arithmetic and attention's, in the served formats",
        "s",
    ),
    "T_drain": Term("Time to read a whole memory device once: its capacity over its bandwidth", "s"),
    "T_hop": Term(
        "Time for one pipeline hop when each chip of the rack sends its share over its own NIC, plus the message "
        "latency",
        "s",
    ),
    "T_KV": Term("Time to read one sequence's KV cache, per emitted token", "s/token"),
    "T_memory,all": Term(
        "All of a step's memory time on one GPU: reading the weights its tokens touch and every sequence's KV cache",
        "s",
    ),
    "T_memory": Term("Memory time of a step: the time to read what it needs from HBM", "s"),
    "T_Rubin": Term("Time to read a Rubin GPU's whole HBM once", "s"),
    "T_step": Term(
        "Time of one decode step of a replica on $G$ GPUs: the weights' class, attention's class and the MoE "
        "dispatch and combine over the scale-up links",
        "s",
    ),
    "T_train": Term("Train interval: the time to read all of HBM once at full bandwidth", "s"),
    "T_wait": Term("Worst-case wait: a request that just misses a train waits one interval, then rides one", "s"),
    "T_weights": Term("Weight-fetch time of a step: the time to read the weights from HBM", "s"),
    "TP": Term("Tensor-parallel degree of a deployment unit: its GPUs over its attention replicas", "1"),
    "W": Term("HBM bandwidth of the chip", "byte/s"),
    "W_r": Term("Bytes a decode step writes: one new KV entry per sequence, no weights", "byte"),
    ("x", "moe.hundredfold-params"): Term(
        "Exponent of the dense-equivalent gain in the parameter multiple, fixed by the lecture's example", "1"
    ),
    ("x", "memory.rack-vs-weights"): Term("HBM of a GB200 NVL72 rack over the bytes of Kimi K2's weights in FP8", "1"),
    ("x", "pricing.fast-mode-premium"): Term(
        "Fast-mode premium: fast-mode output price over standard output price", "1"
    ),
    ("x", "pricing.cache-hit-discount"): Term("Cache-hit price ratio: cache-read price over uncached input price", "1"),
    ("x", "pricing.cache-write-premium"): Term("Cache-write premium: cache-write price over input price", "1"),
    ("x", "pricing.long-context-premium"): Term(
        "Long-context premium: output price above the context threshold over the price below it", "1"
    ),
    "X": Term("Over-training factor: the corpus's tokens per parameter over the compute-optimal ratio $r$", "1"),
    "x_1": Term("First half of a coupling block's input, recovered from its output as $y_{1} - F(x_{2})$", "1"),
    "x_2": Term("Second half of a coupling block's input, recovered from its output as $y_{2} - G(y_{1})$", "1"),
    "y_1": Term("First half of a coupling block's output: $x_{1} + F(x_{2})$", "1"),
    "y_2": Term("Second half of a coupling block's output: $x_{2} + G(y_{1})$", "1"),
}


def term(name: str, claim_id: str) -> Term | None:
    """The definition of the quantity ``name`` as claim ``claim_id`` uses it, or None if the glossary lacks one."""
    return GLOSSARY.get((name, claim_id)) or GLOSSARY.get(name)
