# mk/python.mk - the Python counterparts' tests (tests/python/, registered by
# scripts/ctest_python.sh): a new or removed one rewrites the test list.
$(BUILD)/CTestTestfile.cmake: $(wildcard tests/python/*.py)
