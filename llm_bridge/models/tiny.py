"""Tiny GPT-2-style models with a character tokenizer, trained from scratch in seconds.

They exercise the real load / generate / train / save code paths in tests
and quick demos, where no pretrained weights can be downloaded.
"""
from __future__ import annotations

import string

DEFAULT_ALPHABET = string.ascii_letters + string.digits + " .,:;!?+-*/=()[]{}<>'\"#_\n"


def char_tokenizer(alphabet: str = DEFAULT_ALPHABET):
    """A ``PreTrainedTokenizerFast`` with one token per character (plus pad/eos/unk)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders
    from transformers import PreTrainedTokenizerFast
    specials = ["<pad>", "<eos>", "<unk>"]
    vocab = {tok: i for i, tok in enumerate(specials + sorted(set(alphabet)))}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    tk.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")


def tiny_gpt2(tokenizer, n_layer: int = 2, n_embd: int = 64, n_head: int = 4, n_positions: int = 2048, seed: int = 0):
    """An untrained GPT-2 of the given size for ``tokenizer``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=len(tokenizer), n_layer=n_layer, n_embd=n_embd, n_head=n_head,
                     n_positions=n_positions, bos_token_id=tokenizer.eos_token_id,
                     eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return GPT2LMHeadModel(cfg)
