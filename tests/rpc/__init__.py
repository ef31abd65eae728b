"""Tests of the generic JSON-RPC runtime, osis.rpc."""
