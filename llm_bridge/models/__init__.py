"""The language models: what the games ask of a model, and the engines that answer.

Owns loading (GGUF weights from registry parts, checked), generation, scored generation and
log-likelihoods on two engines (``language_model``: transformers; ``llama_engine``: llama.cpp in process;
``static_decoder``: a fixed-shape decode path for GPUs), a served Receiver over the OpenAI wire format
(``openai_receiver``), the option-choosing Receiver (``choice_receiver``), the declared interfaces
(``interfaces``), fine-tuning (``training``), GGUF export (``gguf_export``) and tiny test models
(``tiny``).  Nothing here knows a game or a task.  torch and transformers are imported lazily.

>>> from llm_bridge.models import ModelConfig, SamplingConfig
>>> SamplingConfig(max_new_tokens=8).temperature
0.0
"""
from .language_model import (ENGINES, MODELS, Generation, LanguageModel, ModelConfig, SamplingConfig,
                             load_by_name, load_by_spec)

__all__ = ["ENGINES", "MODELS", "Generation", "LanguageModel", "ModelConfig", "SamplingConfig", "load_by_name",
           "load_by_spec"]
