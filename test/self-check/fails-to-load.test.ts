// Throws while loading, on purpose: a test file that cannot load must fail the test command too.
throw new Error("self-check: this test file fails to load on purpose");
