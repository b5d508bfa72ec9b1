"""The library and versions the LangChain tools instrumentor supports."""

_instruments = ("langchain-core >= 0.3",)
