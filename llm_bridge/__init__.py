"""The persuasion game with real language models as Advisor and Receiver.

torch and transformers are imported lazily, inside the functions that need
them: ``import llm_bridge`` works without them.
"""
