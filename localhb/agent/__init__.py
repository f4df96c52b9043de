"""The LLM tool loop: the endpoint client, prompts and the tools."""
