#include <cstdio>
int main() { std::puts("octet"); return 0; }
