"""elm plugin: compare mutation operators by the success rate of single mutations."""
