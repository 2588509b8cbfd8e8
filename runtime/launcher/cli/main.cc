// berth: the launcher's command line (in progress).
int main() { return 0; }
