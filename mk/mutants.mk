# make mutants: applies each tests/mutants/*.patch to a copy of the tree in
# $(BUILD)/mutants, builds it, and shows that the lesson checks or the fault
# tests its Caught-by: and Caught-by-test: lines name catch it.
mutants: filecheck
	tests/mutants/run_mutants.sh $(BUILD)/mutants
